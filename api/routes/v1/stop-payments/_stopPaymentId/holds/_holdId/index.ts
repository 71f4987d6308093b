import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Role } from '../../../../../../../domain/roles.js';
import { freezeUpdate, renewUpdate, restopUpdate } from '../../../../../../../workflows/messages.js';
import { actorFor } from '../../../../../../decisions.js';
import { presentCase } from '../../../../../../plugins/app/stop-payments.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '../../../../../../schemas/common.js';
import { FreezeBody, HoldParams, RestopBody, StopPaymentDetailSchema } from '../../../../../../schemas/stop-payments.js';

const answers = { 200: StopPaymentDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems };
const APPROVER: Role[] = ['approver'];
const SENIOR: Role[] = ['senior_approver'];

const hold: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/restop',
    {
      config: { roles: APPROVER, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Stop again for another stopValidity (at most maxRestops times)', params: HoldParams, headers: IdempotencyHeaders, body: RestopBody, response: answers },
    },
    async (request) => {
      const { stopPaymentId, holdId } = request.params;
      const view = await app.stopPayments.decideHold(stopPaymentId, holdId, request.user, restopUpdate, { actor: actorFor(request.user, APPROVER), note: request.body.note }, request.idempotencyKey);
      return presentCase(view, request.user);
    },
  );

  app.post(
    '/freeze',
    {
      config: { roles: SENIOR, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Convert a stop into a freeze (legal document required)', params: HoldParams, headers: IdempotencyHeaders, body: FreezeBody, response: answers },
    },
    async (request) => {
      const { stopPaymentId, holdId } = request.params;
      const decision = { actor: actorFor(request.user, SENIOR), legalDocRef: request.body.legalDocRef, note: request.body.note };
      return presentCase(await app.stopPayments.decideHold(stopPaymentId, holdId, request.user, freezeUpdate, decision, request.idempotencyKey), request.user);
    },
  );

  app.post(
    '/renew',
    {
      config: { roles: SENIOR, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Renew a freeze for another freezeValidity', params: HoldParams, headers: IdempotencyHeaders, body: FreezeBody, response: answers },
    },
    async (request) => {
      const { stopPaymentId, holdId } = request.params;
      const decision = { actor: actorFor(request.user, SENIOR), legalDocRef: request.body.legalDocRef, note: request.body.note };
      return presentCase(await app.stopPayments.decideHold(stopPaymentId, holdId, request.user, renewUpdate, decision, request.idempotencyKey), request.user);
    },
  );
};

export default hold;
