/** The supervisors' view of the outbox: what the system told (or failed to tell) whom, newest first. */
import { and, desc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { liveChanges, notifications } from '#db/schema.js';
import type { User } from '#db/users.js';
import type { NotificationDraft } from '#domain/notification.js';
import { notFound } from '#domain/refusal.js';
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
        acknowledgedAt: n.acknowledgedAt?.toISOString() ?? null,
        acknowledgedBy: n.acknowledgedBy,
      }));
      return { items, nextCursor: rows.length > filters.limit ? encodeCursor(items[items.length - 1]!.id) : null };
    },

    /** Missed deadlines told to the supervisor or the center head: the unacknowledged ones first, newest first. */
    async escalations(user: User, filters: { limit: number; unacknowledged?: boolean }) {
      requireRole(user, MAY.readNotifications);
      const rows = await db
        .select()
        .from(notifications)
        .where(and(isEscalation, filters.unacknowledged ? isNull(notifications.acknowledgedAt) : undefined))
        .orderBy(sql`${notifications.acknowledgedAt} is not null`, desc(notifications.id))
        .limit(filters.limit);
      return rows.map((n) => ({
        id: n.id,
        kind: n.kind,
        caseType: n.caseType,
        caseId: n.caseId,
        recipientRole: n.recipientRole,
        level: fieldOf(n.payload, 'level', 'number'),
        /** Which deadline was missed: claim, call, visit (alerts) or approval (cases). */
        deadline: fieldOf(n.payload, 'deadline', 'string') ?? (n.kind === 'approval_overdue' ? 'approval' : null),
        message: n.message,
        createdAt: n.createdAt.toISOString(),
        acknowledgedAt: n.acknowledgedAt?.toISOString() ?? null,
        acknowledgedBy: n.acknowledgedBy,
      }));
    },

    /**
     * A supervisor has seen an escalation and taken it on: who and when are kept, the banner stops on
     * every supervisor's page. Acknowledging again changes nothing (the first acknowledgement stands).
     */
    async acknowledge(user: User, id: number) {
      requireRole(user, MAY.superviseAlerts);
      return db.transaction(async (tx) => {
        const [done] = await tx
          .update(notifications)
          .set({ acknowledgedAt: new Date(), acknowledgedBy: user.userId })
          .where(and(eq(notifications.id, id), isEscalation, isNull(notifications.acknowledgedAt)))
          .returning();
        const row =
          done ??
          (
            await tx
              .select()
              .from(notifications)
              .where(and(eq(notifications.id, id), isEscalation))
          )[0];
        if (!row) throw notFound(`Escalation ${id}`);
        if (done)
          await tx.insert(liveChanges).values({
            workflowId: row.workflowId,
            caseType: 'escalation',
            caseId: row.caseId,
            stationId: null,
            state: 'acknowledged',
          });
        return { id: row.id, acknowledgedAt: row.acknowledgedAt!.toISOString(), acknowledgedBy: row.acknowledgedBy! };
      });
    },
  };
}

function fieldOf(payload: unknown, name: string, type: 'number'): number | null;
function fieldOf(payload: unknown, name: string, type: 'string'): string | null;
function fieldOf(payload: unknown, name: string, type: 'number' | 'string') {
  const value = (payload as Record<string, unknown> | null)?.[name];
  return typeof value === type ? value : null;
}

/** An escalation: a missed deadline told up the chain (level 1 the supervisor, then the center head). */
const isEscalation = and(
  inArray(notifications.kind, ['alert_overdue', 'approval_overdue']),
  inArray(notifications.recipientRole, ['supervisor', 'center_head']),
);

export type NotificationService = ReturnType<typeof createNotificationService>;
