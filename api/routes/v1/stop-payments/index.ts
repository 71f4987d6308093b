import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { IdempotencyHeaders, page, problem } from '#api/schemas/common.js';
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
        operationId: 'fileStopPayment',
        tags: ['stop-payments'],
        summary: 'File an emergency stop-payment (紧急止付) from the 110 desk',
        headers: IdempotencyHeaders,
        body: StopPaymentInputSchema,
        response: {
          201: FiledAnswerSchema,
          409: problem(
            'The alert is already linked to another case, or this Idempotency-Key was used for another request',
          ),
        },
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
        operationId: 'listStopPayments',
        tags: ['stop-payments'],
        summary: 'Cases: pending approvals first by deadline, then the newest; a call-taker sees their own',
        querystring: StopPaymentListQuery,
        response: { 200: page(StopPaymentSummarySchema) },
      },
    },
    async (request) =>
      app.services.stopPayments.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default stopPayments;
