/** The supervisors' view of the outbox: what the system told (or failed to tell) whom, newest first. */
import { and, desc, eq, isNull, lt } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { notifications } from '#db/schema.js';
import type { User } from '#db/users.js';
import type { NotificationDraft } from '#domain/notification.js';
import { MAY } from '#domain/roles.js';
import { decodeCursor, encodeCursor, isIdCursor } from './cursor.js';
import { requireRole } from './decisions.js';

export function createNotificationService({ db }: { db: Database }) {
  return {
    async list(
      user: User,
      filters: {
        limit: number;
        cursor?: string;
        recipientRole?: NotificationDraft['recipientRole'];
        undelivered?: boolean;
      },
    ) {
      requireRole(user, MAY.readNotifications);
      const before = decodeCursor(filters.cursor, isIdCursor);
      const rows = await db
        .select()
        .from(notifications)
        .where(
          and(
            filters.recipientRole ? eq(notifications.recipientRole, filters.recipientRole) : undefined,
            filters.undelivered ? isNull(notifications.deliveredAt) : undefined,
            before !== undefined ? lt(notifications.id, before) : undefined,
          ),
        )
        .orderBy(desc(notifications.id))
        .limit(filters.limit + 1);
      const items = rows.slice(0, filters.limit).map((n) => ({
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
      return { items, nextCursor: rows.length > filters.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },
  };
}

export type NotificationService = ReturnType<typeof createNotificationService>;
