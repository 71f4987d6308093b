import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { alertWorkflowId } from '#domain/alert.js';
import { MAY } from '#domain/roles.js';
import { AlertInputSchema, AlertListQuery, AlertSummarySchema, IngestAnswerSchema } from '#api/schemas/alerts.js';
import { IdempotencyHeaders, page } from '#api/schemas/common.js';

const alerts: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.ingestAlerts, idempotent: true },
      schema: {
        operationId: 'ingestAlert',
        tags: ['alerts'],
        summary: 'Receive a warning instruction (预警指令) from the platform',
        description: '201 when it starts a workflow; 200 with `duplicate: true` when the alert was pushed before.',
        headers: IdempotencyHeaders,
        body: AlertInputSchema,
        response: { 200: IngestAnswerSchema, 201: IngestAnswerSchema },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const { created, state } = await app.services.alerts.ingest(request.user, input, request.idempotencyKey);
      const answer = { alertId: input.alertId, workflowId: alertWorkflowId(input.alertId), state };
      return created ? reply.status(201).send(answer) : reply.status(200).send({ ...answer, duplicate: true });
    },
  );

  app.get(
    '',
    {
      config: { roles: MAY.readAlerts },
      schema: {
        operationId: 'listAlerts',
        tags: ['alerts'],
        summary: 'Alerts, most urgent first (earliest deadline)',
        querystring: AlertListQuery,
        response: { 200: page(AlertSummarySchema) },
      },
    },
    async (request) => app.services.alerts.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default alerts;
