import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static, TSchema } from 'typebox';
import type { User } from '#db/users.js';
import { MAY, type Role } from '#domain/roles.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '#api/schemas/common.js';
import { FreezeBody, HoldParams, RestopBody, StopPaymentDetailSchema } from '#api/schemas/stop-payments.js';

const hold: FastifyPluginAsyncTypebox = async (app) => {
  const cases = app.services.stopPayments;

  /** A decision on one held account, sent to that hold's workflow; the answer is the whole case. */
  function decisionRoute<B extends TSchema>(
    path: string,
    roles: readonly Role[],
    summary: string,
    body: B,
    decide: (
      user: User,
      id: string,
      holdId: string,
      body: Static<B>,
      idempotencyKey: string | null,
    ) => Promise<StopPaymentView>,
  ) {
    app.post(
      path,
      {
        config: { roles, idempotent: true },
        schema: {
          tags: ['stop-payments'],
          summary,
          params: HoldParams,
          headers: IdempotencyHeaders,
          body,
          response: { 200: StopPaymentDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems },
        },
      },
      async (request) => {
        const { stopPaymentId, holdId } = request.params;
        return decide(request.user, stopPaymentId, holdId, request.body as Static<B>, request.idempotencyKey);
      },
    );
  }

  decisionRoute(
    '/restop',
    MAY.approveStopPayments,
    'Stop again for another stopValidity (at most maxRestops times)',
    RestopBody,
    cases.restop,
  );
  decisionRoute(
    '/freeze',
    MAY.freezeStopPayments,
    'Convert a stop into a freeze (legal document required)',
    FreezeBody,
    cases.freeze,
  );
  decisionRoute('/renew', MAY.freezeStopPayments, 'Renew a freeze for another freezeValidity', FreezeBody, cases.renew);
};

export default hold;
