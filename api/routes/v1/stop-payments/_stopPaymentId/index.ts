import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Role } from '../../../../../domain/roles.js';
import { approveUpdate, rejectUpdate, releaseCaseUpdate } from '../../../../../workflows/messages.js';
import { actorFor } from '../../../../decisions.js';
import { presentCase } from '../../../../plugins/app/stop-payments.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '../../../../schemas/common.js';
import { ApproveBody, RejectBody, ReleaseBody, StopPaymentDetailSchema, StopPaymentParams } from '../../../../schemas/stop-payments.js';
import { CASE_READERS } from '../index.js';

const answers = { 200: StopPaymentDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems };
const APPROVER: Role[] = ['approver'];
const SENIOR: Role[] = ['senior_approver'];

const stopPayment: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    { config: { roles: CASE_READERS }, schema: { tags: ['stop-payments'], params: StopPaymentParams, response: { 200: StopPaymentDetailSchema, 404: ProblemSchema, ...authProblems } } },
    async (request) => presentCase(await app.stopPayments.visible(request.params.stopPaymentId, request.user), request.user),
  );

  app.post(
    '/approve',
    {
      config: { roles: APPROVER, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Approve: the banks are instructed at once (never by the filer)', params: StopPaymentParams, headers: IdempotencyHeaders, body: ApproveBody, response: answers },
    },
    async (request) => {
      const view = await app.stopPayments.decideCase(
        request.params.stopPaymentId,
        request.user,
        approveUpdate,
        { actor: actorFor(request.user, APPROVER), note: request.body.note },
        request.idempotencyKey,
      );
      return presentCase(view, request.user);
    },
  );

  app.post(
    '/reject',
    {
      config: { roles: APPROVER, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Reject, with a reason', params: StopPaymentParams, headers: IdempotencyHeaders, body: RejectBody, response: answers },
    },
    async (request) => {
      const view = await app.stopPayments.decideCase(
        request.params.stopPaymentId,
        request.user,
        rejectUpdate,
        { actor: actorFor(request.user, APPROVER), reason: request.body.reason },
        request.idempotencyKey,
      );
      return presentCase(view, request.user);
    },
  );

  app.post(
    '/release',
    {
      config: { roles: SENIOR, idempotent: true },
      schema: { tags: ['stop-payments'], summary: 'Release the case (or some of its holds) at the banks', params: StopPaymentParams, headers: IdempotencyHeaders, body: ReleaseBody, response: answers },
    },
    async (request) => {
      const view = await app.stopPayments.decideCase(
        request.params.stopPaymentId,
        request.user,
        releaseCaseUpdate,
        { actor: actorFor(request.user, SENIOR), reason: request.body.reason, holdIds: request.body.holdIds },
        request.idempotencyKey,
      );
      return presentCase(view, request.user);
    },
  );
};

export default stopPayment;
