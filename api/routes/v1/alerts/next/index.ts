import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { AlertDetailSchema } from '#api/schemas/alerts.js';
import { IdempotencyHeaders } from '#api/schemas/common.js';

const next: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.callAlerts, idempotent: true },
      schema: {
        operationId: 'takeNextAlert',
        tags: ['alerts'],
        summary: 'Take the most urgent queued alert: it is claimed for you',
        headers: IdempotencyHeaders,
        response: { 200: AlertDetailSchema, 204: Type.Null({ description: 'The queue is empty' }) },
      },
    },
    async (request, reply) => {
      const claimed = await app.services.alerts.takeNext(request.user, request.idempotencyKey);
      return claimed ?? reply.status(204).send(null);
    },
  );
};

export default next;
