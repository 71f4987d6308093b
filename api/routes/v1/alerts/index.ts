import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AlertInputSchema, AlertListQuery, AlertSummarySchema, IngestAnswerSchema } from '../../../schemas/alerts.js';
import { authProblems, IdempotencyHeaders, page } from '../../../schemas/common.js';
import { alertWorkflowId } from '../../../../domain/alert.js';

export const ALERT_READERS = ['operator', 'supervisor', 'station', 'auditor'] as const;

const alerts: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: ['platform'], idempotent: true },
      schema: {
        tags: ['alerts'],
        summary: 'Receive a warning instruction (预警指令) from the platform',
        headers: IdempotencyHeaders,
        body: AlertInputSchema,
        response: { 200: IngestAnswerSchema, 201: IngestAnswerSchema, ...authProblems },
      },
    },
    async (request, reply) => {
      const input = request.body;
      const { created, state } = await app.alerts.ingest(input, request.idempotencyKey && `${request.user.userId}:${request.idempotencyKey}`);
      const answer = { alertId: input.alertId, workflowId: alertWorkflowId(input.alertId), state };
      return created ? reply.status(201).send(answer) : reply.status(200).send({ ...answer, duplicate: true });
    },
  );

  app.get(
    '',
    {
      config: { roles: ALERT_READERS },
      schema: {
        tags: ['alerts'],
        summary: 'Alerts, most urgent first (earliest deadline)',
        querystring: AlertListQuery,
        response: { 200: page(AlertSummarySchema), ...authProblems },
      },
    },
    async (request) => app.alerts.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default alerts;
