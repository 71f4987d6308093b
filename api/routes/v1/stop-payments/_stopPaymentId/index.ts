import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UpdateDefinition } from '@temporalio/common';
import type { Static, TSchema } from 'typebox';
import type { DecisionActor } from '../../../../../domain/alert.js';
import type { Role } from '../../../../../domain/roles.js';
import type { StopPaymentView } from '../../../../../domain/stop-payment.js';
import { approveUpdate, rejectUpdate, releaseCaseUpdate } from '../../../../../workflows/messages.js';
import { actorFor } from '../../../../decisions.js';
import { presentCase } from '../../../../plugins/app/stop-payments.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '../../../../schemas/common.js';
import { ApproveBody, RejectBody, ReleaseBody, StopPaymentDetailSchema, StopPaymentParams } from '../../../../schemas/stop-payments.js';
import { CASE_READERS } from '../index.js';

const stopPayment: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    { config: { roles: CASE_READERS }, schema: { tags: ['stop-payments'], params: StopPaymentParams, response: { 200: StopPaymentDetailSchema, 404: ProblemSchema, ...authProblems } } },
    async (request) => presentCase(await app.stopPayments.visible(request.params.stopPaymentId, request.user), request.user),
  );

  /** A decision on the case: the validated body becomes the decision, with its actor, sent as an Update. */
  function decisionRoute<B extends TSchema, D extends { actor: DecisionActor }>(
    path: string,
    roles: Role[],
    summary: string,
    body: B,
    update: UpdateDefinition<StopPaymentView, [D]>,
    toDecision: (body: Static<B>, actor: DecisionActor) => D,
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
      async (request) => {
        const decision = toDecision(request.body as Static<B>, actorFor(request.user, roles));
        const view = await app.stopPayments.decideCase(request.params.stopPaymentId, request.user, update, decision, request.idempotencyKey);
        return presentCase(view, request.user);
      },
    );
  }

  decisionRoute('/approve', ['approver'], 'Approve: the banks are instructed at once (never by the filer)', ApproveBody, approveUpdate, (body, actor) => ({ actor, note: body.note }));
  decisionRoute('/reject', ['approver'], 'Reject, with a reason', RejectBody, rejectUpdate, (body, actor) => ({ actor, reason: body.reason }));
  decisionRoute('/release', ['senior_approver'], 'Release the case (or some of its holds) at the banks', ReleaseBody, releaseCaseUpdate, (body, actor) => ({
    actor,
    reason: body.reason,
    holdIds: body.holdIds,
  }));
};

export default stopPayment;
