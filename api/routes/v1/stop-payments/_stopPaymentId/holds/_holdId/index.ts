import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { decisionRoutes } from '#api/decision-routes.js';
import { FreezeBody, HoldParams, RestopBody, StopPaymentDetailSchema } from '#api/schemas/stop-payments.js';
import { MAY } from '#domain/roles.js';

/** Decisions on one held account, sent to that hold's workflow; the answer is the whole case. */
const hold: FastifyPluginAsyncTypebox = async (app) => {
  const cases = app.services.stopPayments;
  const decision = decisionRoutes(app, {
    tags: ['stop-payments'],
    params: HoldParams,
    answer: StopPaymentDetailSchema,
  });
  decision(
    '/restop',
    MAY.approveStopPayments,
    'Stop again for another stopValidity (at most maxRestops times)',
    RestopBody,
    (user, { stopPaymentId, holdId }, body, key) => cases.restop(user, stopPaymentId, holdId, body, key),
  );
  decision(
    '/freeze',
    MAY.freezeStopPayments,
    'Convert a stop into a freeze (legal document required)',
    FreezeBody,
    (user, { stopPaymentId, holdId }, body, key) => cases.freeze(user, stopPaymentId, holdId, body, key),
  );
  decision(
    '/renew',
    MAY.freezeStopPayments,
    'Renew a freeze for another freezeValidity',
    FreezeBody,
    (user, { stopPaymentId, holdId }, body, key) => cases.renew(user, stopPaymentId, holdId, body, key),
  );
};

export default hold;
