import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { presentAlert } from '../../../../plugins/app/alerts.js';
import { AlertDetailSchema } from '../../../../schemas/alerts.js';
import { authProblems, IdempotencyHeaders } from '../../../../schemas/common.js';

const next: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: ['operator'], idempotent: true },
      schema: {
        tags: ['alerts'],
        summary: 'Take the most urgent queued alert: it is claimed for you',
        headers: IdempotencyHeaders,
        response: { 200: AlertDetailSchema, 204: Type.Null(), ...authProblems },
      },
    },
    async (request, reply) => {
      const claimed = await app.alerts.claimNext(request.user, request.idempotencyKey);
      if (!claimed) return reply.status(204).send(null);
      return presentAlert(claimed, request.user);
    },
  );
};

export default next;
