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
    notFound: 'No such stop-payment or hold, or not one you may see',
  });
  decision(
    {
      operationId: 'restopHold',
      path: '/restop',
      roles: MAY.approveStopPayments,
      summary: 'Stop again for another stopValidity (at most maxRestops times)',
      body: RestopBody,
    },
    (user, { stopPaymentId, holdId }, body, key) => cases.restop(user, stopPaymentId, holdId, body, key),
  );
  decision(
    {
      operationId: 'freezeHold',
      path: '/freeze',
      roles: MAY.freezeStopPayments,
      summary: 'Convert a stop into a freeze (legal document required)',
      body: FreezeBody,
    },
    (user, { stopPaymentId, holdId }, body, key) => cases.freeze(user, stopPaymentId, holdId, body, key),
  );
  decision(
    {
      operationId: 'renewHold',
      path: '/renew',
      roles: MAY.freezeStopPayments,
      summary: 'Renew a freeze for another freezeValidity',
      body: FreezeBody,
    },
    (user, { stopPaymentId, holdId }, body, key) => cases.renew(user, stopPaymentId, holdId, body, key),
  );
};

export default hold;
