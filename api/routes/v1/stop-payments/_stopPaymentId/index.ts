import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static, TSchema } from 'typebox';
import type { User } from '#db/users.js';
import { MAY, type Role } from '#domain/roles.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '#api/schemas/common.js';
import {
  ApproveBody,
  RejectBody,
  ReleaseBody,
  StopPaymentDetailSchema,
  StopPaymentParams,
} from '#api/schemas/stop-payments.js';

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

  /** A decision on the case: the validated body goes to the service's decision of the same name. */
  function decisionRoute<B extends TSchema>(
    path: string,
    roles: readonly Role[],
    summary: string,
    body: B,
    decide: (user: User, id: string, body: Static<B>, idempotencyKey: string | null) => Promise<StopPaymentView>,
  ) {
    app.post(
      path,
      {
        config: { roles, idempotent: true },
        schema: {
          tags: ['stop-payments'],
          summary,
          params: StopPaymentParams,
          headers: IdempotencyHeaders,
          body,
          response: { 200: StopPaymentDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems },
        },
      },
      async (request) =>
        decide(request.user, request.params.stopPaymentId, request.body as Static<B>, request.idempotencyKey),
    );
  }

  decisionRoute(
    '/approve',
    MAY.approveStopPayments,
    'Approve: the banks are instructed at once (never by the filer)',
    ApproveBody,
    cases.approve,
  );
  decisionRoute('/reject', MAY.approveStopPayments, 'Reject, with a reason', RejectBody, cases.reject);
  decisionRoute(
    '/release',
    MAY.freezeStopPayments,
    'Release the case (or some of its holds) at the banks',
    ReleaseBody,
    cases.release,
  );
};

export default stopPayment;
