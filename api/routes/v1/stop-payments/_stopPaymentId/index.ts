import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decisionRoutes } from '#api/decision-routes.js';
import { problem } from '#api/schemas/common.js';
import {
  ApproveBody,
  RejectBody,
  ReleaseBody,
  StopPaymentDetailSchema,
  StopPaymentParams,
} from '#api/schemas/stop-payments.js';
import { MAY } from '#domain/roles.js';

const NOT_FOUND = 'No such stop-payment, or not one you may see';

const stopPayment: FastifyPluginAsyncTypebox = async (app) => {
  const cases = app.services.stopPayments;

  app.get(
    '',
    {
      config: { roles: MAY.readStopPayments },
      schema: {
        operationId: 'getStopPayment',
        tags: ['stop-payments'],
        summary: 'One case with its holds (the money trail) and its timeline',
        params: StopPaymentParams,
        response: { 200: StopPaymentDetailSchema, 404: problem(NOT_FOUND) },
      },
    },
    async (request) => cases.detail(request.user, request.params.stopPaymentId),
  );

  const decision = decisionRoutes(app, {
    tags: ['stop-payments'],
    params: StopPaymentParams,
    answer: StopPaymentDetailSchema,
    notFound: NOT_FOUND,
  });
  decision(
    {
      operationId: 'approveStopPayment',
      path: '/approve',
      roles: MAY.approveStopPayments,
      summary: 'Approve: the banks are instructed at once (never by the filer)',
      body: ApproveBody,
    },
    (user, { stopPaymentId }, body, key) => cases.approve(user, stopPaymentId, body, key),
  );
  decision(
    {
      operationId: 'rejectStopPayment',
      path: '/reject',
      roles: MAY.approveStopPayments,
      summary: 'Reject, with a reason',
      body: RejectBody,
    },
    (user, { stopPaymentId }, body, key) => cases.reject(user, stopPaymentId, body, key),
  );
  decision(
    {
      operationId: 'releaseStopPayment',
      path: '/release',
      roles: MAY.freezeStopPayments,
      summary: 'Release the case (or some of its holds) at the banks',
      body: ReleaseBody,
    },
    (user, { stopPaymentId }, body, key) => cases.release(user, stopPaymentId, body, key),
  );
};

export default stopPayment;
