import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { problem } from '#api/schemas/common.js';
import { AcknowledgementSchema } from '#api/schemas/stats.js';

// A supervisor takes an escalation on: the banner stops on every supervisor's page, and who and when are kept.
const acknowledge: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.superviseAlerts },
      schema: {
        operationId: 'acknowledgeNotification',
        tags: ['notifications'],
        summary: 'Acknowledge an escalation (a missed deadline told to the supervisor or the center head)',
        params: Type.Object({ id: Type.Integer({ minimum: 1, examples: [42] }) }),
        response: { 200: AcknowledgementSchema, 404: problem('No such escalation') },
      },
    },
    async (request) => app.services.notifications.acknowledge(request.user, request.params.id),
  );
};

export default acknowledge;
