import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UpdateDefinition } from '@temporalio/common';
import type { Static, TSchema } from 'typebox';
import type { DecisionActor } from '../../../../../../../domain/alert.js';
import type { Role } from '../../../../../../../domain/roles.js';
import type { HoldView } from '../../../../../../../domain/stop-payment.js';
import { freezeUpdate, renewUpdate, restopUpdate } from '../../../../../../../workflows/messages.js';
import { actorFor } from '../../../../../../decisions.js';
import { presentCase } from '../../../../../../plugins/app/stop-payments.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '../../../../../../schemas/common.js';
import { FreezeBody, HoldParams, RestopBody, StopPaymentDetailSchema } from '../../../../../../schemas/stop-payments.js';

const hold: FastifyPluginAsyncTypebox = async (app) => {
  /** A decision on one held account, sent to that hold's workflow; the answer is the whole case. */
  function decisionRoute<B extends TSchema, D extends { actor: DecisionActor }>(
    path: string,
    roles: Role[],
    summary: string,
    body: B,
    update: UpdateDefinition<HoldView, [D]>,
    toDecision: (body: Static<B>, actor: DecisionActor) => D,
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
        const decision = toDecision(request.body as Static<B>, actorFor(request.user, roles));
        return presentCase(await app.stopPayments.decideHold(stopPaymentId, holdId, request.user, update, decision, request.idempotencyKey), request.user);
      },
    );
  }

  const freezing = (body: Static<typeof FreezeBody>, actor: DecisionActor) => ({ actor, legalDocRef: body.legalDocRef, note: body.note });
  decisionRoute('/restop', ['approver'], 'Stop again for another stopValidity (at most maxRestops times)', RestopBody, restopUpdate, (body, actor) => ({ actor, note: body.note }));
  decisionRoute('/freeze', ['senior_approver'], 'Convert a stop into a freeze (legal document required)', FreezeBody, freezeUpdate, freezing);
  decisionRoute('/renew', ['senior_approver'], 'Renew a freeze for another freezeValidity', FreezeBody, renewUpdate, freezing);
};

export default hold;
