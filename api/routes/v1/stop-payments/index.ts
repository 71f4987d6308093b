import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authProblems, IdempotencyHeaders, page } from '../../../schemas/common.js';
import { FiledAnswerSchema, StopPaymentInputSchema, StopPaymentListQuery, StopPaymentSummarySchema } from '../../../schemas/stop-payments.js';

export const CASE_READERS = ['calltaker', 'approver', 'senior_approver', 'supervisor', 'auditor'] as const;

const stopPayments: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: ['calltaker'], idempotent: true },
      schema: {
        tags: ['stop-payments'],
        summary: 'File an emergency stop-payment (紧急止付) from the 110 desk',
        headers: IdempotencyHeaders,
        body: StopPaymentInputSchema,
        response: { 201: FiledAnswerSchema, ...authProblems },
      },
    },
    async (request, reply) => reply.status(201).send(await app.stopPayments.file(request.body, request.user, request.idempotencyKey)),
  );

  app.get(
    '',
    {
      config: { roles: CASE_READERS },
      schema: {
        tags: ['stop-payments'],
        summary: 'Cases: pending approvals first by deadline, then the newest; a call-taker sees their own',
        querystring: StopPaymentListQuery,
        response: { 200: page(StopPaymentSummarySchema), ...authProblems },
      },
    },
    async (request) => app.stopPayments.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default stopPayments;

