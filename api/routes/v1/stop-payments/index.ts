import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { authProblems, IdempotencyHeaders, page } from '#api/schemas/common.js';
import {
  FiledAnswerSchema,
  StopPaymentInputSchema,
  StopPaymentListQuery,
  StopPaymentSummarySchema,
} from '#api/schemas/stop-payments.js';

const stopPayments: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.fileStopPayments, idempotent: true },
      schema: {
        tags: ['stop-payments'],
        summary: 'File an emergency stop-payment (紧急止付) from the 110 desk',
        headers: IdempotencyHeaders,
        body: StopPaymentInputSchema,
        response: { 201: FiledAnswerSchema, ...authProblems },
      },
    },
    async (request, reply) =>
      reply.status(201).send(await app.services.stopPayments.file(request.user, request.body, request.idempotencyKey)),
  );

  app.get(
    '',
    {
      config: { roles: MAY.readStopPayments },
      schema: {
        tags: ['stop-payments'],
        summary: 'Cases: pending approvals first by deadline, then the newest; a call-taker sees their own',
        querystring: StopPaymentListQuery,
        response: { 200: page(StopPaymentSummarySchema), ...authProblems },
      },
    },
    async (request) =>
      app.services.stopPayments.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default stopPayments;
