import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decisionRoutes } from '#api/decision-routes.js';
import { authProblems, ProblemSchema } from '#api/schemas/common.js';
import {
  ApproveBody,
  RejectBody,
  ReleaseBody,
  StopPaymentDetailSchema,
  StopPaymentParams,
} from '#api/schemas/stop-payments.js';
import { MAY } from '#domain/roles.js';

const stopPayment: FastifyPluginAsyncTypebox = async (app) => {
  const cases = app.services.stopPayments;

  app.get(
    '',
    {
      config: { roles: MAY.readStopPayments },
      schema: {
        tags: ['stop-payments'],
        params: StopPaymentParams,
        response: { 200: StopPaymentDetailSchema, 404: ProblemSchema, ...authProblems },
      },
    },
    async (request) => cases.detail(request.user, request.params.stopPaymentId),
  );

  const decision = decisionRoutes(app, {
    tags: ['stop-payments'],
    params: StopPaymentParams,
    answer: StopPaymentDetailSchema,
  });
  decision(
    '/approve',
    MAY.approveStopPayments,
    'Approve: the banks are instructed at once (never by the filer)',
    ApproveBody,
    (user, { stopPaymentId }, body, key) => cases.approve(user, stopPaymentId, body, key),
  );
  decision(
    '/reject',
    MAY.approveStopPayments,
    'Reject, with a reason',
    RejectBody,
    (user, { stopPaymentId }, body, key) => cases.reject(user, stopPaymentId, body, key),
  );
  decision(
    '/release',
    MAY.freezeStopPayments,
    'Release the case (or some of its holds) at the banks',
    ReleaseBody,
    (user, { stopPaymentId }, body, key) => cases.release(user, stopPaymentId, body, key),
  );
};

export default stopPayment;
