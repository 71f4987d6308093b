/**
 * The supervisor's board: every open queue by state, the overdue and escalated cases first (highest
 * level, then soonest deadline), who is on duty (signed in to the console now) and what each holds,
 * and what the outbox has not delivered. One read of the read model; the services decide and mask.
 */
import { and, asc, count, desc, eq, gt, inArray, isNull, ne, or, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, notifications, sessions, stopPayments, users } from '#db/schema.js';
import type { User } from '#db/users.js';
import type { AlertView } from '#domain/alert.js';
import type { Role } from '#domain/roles.js';
import { MAY } from '#domain/roles.js';
import { alertSummary } from './alerts.js';
import { requireRole } from './decisions.js';
import { SESSION_IDLE_MS } from './sessions.js';
import { caseSummary } from './stop-payments.js';

const ESCALATED_LIMIT = 50;
const HELD_LIMIT = 100;

export function createBoardService({ db }: { db: Database }) {
  return {
    async snapshot(user: User) {
      requireRole(user, MAY.readNotifications);
      const now = new Date();
      const overdueCount = sql<number>`count(*) filter (where ${alerts.overdue})::int`;
      const escalatedCases = sql<number>`count(*) filter (where ${stopPayments.escalationLevel} > 0)::int`;
      const [alertStates, caseStates, lateAlerts, lateCases, present, held, undelivered] = await Promise.all([
        db
          .select({ state: alerts.state, open: count(), overdue: overdueCount })
          .from(alerts)
          .where(ne(alerts.state, 'closed'))
          .groupBy(alerts.state),
        db
          .select({ state: stopPayments.state, open: count(), overdue: escalatedCases })
          .from(stopPayments)
          .where(inArray(stopPayments.state, ['pending_approval', 'active']))
          .groupBy(stopPayments.state),
        db
          .select({ detail: alerts.detail })
          .from(alerts)
          .where(and(ne(alerts.state, 'closed'), or(eq(alerts.overdue, true), gt(alerts.escalationLevel, 0))))
          .orderBy(desc(alerts.escalationLevel), asc(alerts.deadline), asc(alerts.alertId))
          .limit(ESCALATED_LIMIT),
        db
          .select({ detail: stopPayments.detail })
          .from(stopPayments)
          .where(and(eq(stopPayments.state, 'pending_approval'), gt(stopPayments.escalationLevel, 0)))
          .orderBy(desc(stopPayments.escalationLevel), asc(stopPayments.deadline))
          .limit(ESCALATED_LIMIT),
        // On duty: a console session that is open, not idle and not expired.
        db
          .selectDistinct({ userId: users.userId, name: users.name, roles: users.roles, stationId: users.stationId })
          .from(sessions)
          .innerJoin(users, eq(users.userId, sessions.userId))
          .where(
            and(
              isNull(sessions.endedAt),
              isNull(users.disabledAt),
              gt(sessions.expiresAt, now),
              gt(sessions.lastSeenAt, new Date(now.getTime() - SESSION_IDLE_MS)),
            ),
          )
          .orderBy(asc(users.name)),
        // Held now (being called), longest first: a supervisor takes back what an absent operator holds.
        db
          .select({ detail: alerts.detail, assigneeId: alerts.assigneeId })
          .from(alerts)
          .where(eq(alerts.state, 'calling'))
          .orderBy(asc(alerts.firstCallAt), asc(alerts.alertId))
          .limit(HELD_LIMIT),
        db
          .select({
            id: notifications.id,
            kind: notifications.kind,
            caseId: notifications.caseId,
            attempts: notifications.attempts,
            lastError: notifications.lastError,
            createdAt: notifications.createdAt,
          })
          .from(notifications)
          .where(isNull(notifications.deliveredAt))
          .orderBy(desc(notifications.id))
          .limit(10),
      ]);
      const [undeliveredCount] = await db
        .select({ n: count() })
        .from(notifications)
        .where(isNull(notifications.deliveredAt));
      return {
        alertStates: Object.fromEntries(alertStates.map((r) => [r.state, { open: r.open, overdue: r.overdue }])),
        caseStates: Object.fromEntries(caseStates.map((r) => [r.state, { open: r.open, overdue: r.overdue }])),
        escalatedAlerts: lateAlerts.map((row) => alertSummary(row.detail, user)),
        escalatedCases: lateCases.map((row) => caseSummary(row.detail, user)),
        onDuty: present.map((person) => ({
          userId: person.userId,
          name: person.name,
          roles: person.roles as Role[],
          stationId: person.stationId,
          holds: held.filter((h) => h.assigneeId === person.userId).map((h) => (h.detail as AlertView).alertId),
        })),
        held: held.map((row) => alertSummary(row.detail, user)),
        undelivered: {
          count: undeliveredCount?.n ?? 0,
          latest: undelivered.map((n) => ({ ...n, createdAt: n.createdAt.toISOString() })),
        },
      };
    },
  };
}

export type BoardService = ReturnType<typeof createBoardService>;
