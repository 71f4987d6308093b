import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { ListQuery, page } from '#api/schemas/common.js';
import { NotificationSchema } from '#api/schemas/stats.js';

const query = Type.Object(
  {
    ...ListQuery,
    recipientRole: Type.Optional(
      Type.Enum(['supervisor', 'center_head', 'criminal_squad', 'senior_approver', 'approver']),
    ),
    undelivered: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.readNotifications },
      schema: {
        operationId: 'listNotifications',
        tags: ['notifications'],
        summary: 'Notifications, newest first: what was sent to whom, delivered or not, acknowledged or not',
        querystring: query,
        response: { 200: page(NotificationSchema) },
      },
    },
    async (request) =>
      app.services.notifications.list(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default notificationRoutes;
