import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import { Type } from 'typebox';
import { notifications } from '../../../../db/schema.js';
import { authProblems, decodeCursor, encodeCursor, ListQuery, page } from '../../../schemas/common.js';
import { NotificationSchema } from '../../../schemas/stats.js';

const query = Type.Object(
  {
    ...ListQuery,
    recipientRole: Type.Optional(Type.Enum(['supervisor', 'center_head', 'criminal_squad', 'senior_approver', 'approver'])),
    undelivered: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

/** The supervisors' view of the outbox: what the system told (or failed to tell) whom, newest first. */
const notificationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: ['supervisor'] },
      schema: { tags: ['notifications'], querystring: query, response: { 200: page(NotificationSchema), ...authProblems } },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const before = decodeCursor(request.query.cursor, (v): v is number => Number.isSafeInteger(v));
      const rows = await app.db
        .select()
        .from(notifications)
        .where(
          and(
            request.query.recipientRole ? eq(notifications.recipientRole, request.query.recipientRole) : undefined,
            request.query.undelivered ? isNull(notifications.deliveredAt) : undefined,
            before !== undefined ? lt(notifications.id, before) : undefined,
          ),
        )
        .orderBy(desc(notifications.id))
        .limit(limit + 1);
      const items = rows.slice(0, limit).map((n) => ({
        id: n.id,
        recipientRole: n.recipientRole,
        kind: n.kind,
        caseType: n.caseType,
        caseId: n.caseId,
        workflowId: n.workflowId,
        message: n.message,
        createdAt: n.createdAt.toISOString(),
        deliveredAt: n.deliveredAt?.toISOString() ?? null,
        deliveredVia: n.deliveredVia,
        attempts: n.attempts,
        lastError: n.lastError,
      }));
      return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },
  );
};

export default notificationRoutes;
