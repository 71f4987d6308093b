/**
 * The supervisor's board: every open queue by state, the overdue and escalated cases first (highest
 * level, then soonest deadline), who is on duty (signed in to the console now) and what each holds,
 * and what the outbox has not delivered. One read of the read model; the services decide and mask.
 */
import { and, asc, count, desc, eq, gt, inArray, isNull, min, ne, or, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, notifications, sessions, stopPayments, users } from '#db/schema.js';
import type { User } from '#db/users.js';
import { ALERT_STATES, type AlertView } from '#domain/alert.js';
import type { Role } from '#domain/roles.js';
import { MAY } from '#domain/roles.js';
import { alertSummary } from './alerts.js';
import { requireRole } from './decisions.js';
import { SESSION_IDLE_MS } from './sessions.js';
import { caseSummary } from './stop-payments.js';

const ESCALATED_LIMIT = 50;
const HELD_LIMIT = 100;

const OPEN_ALERT_STATES = ALERT_STATES.filter((state) => state !== 'closed');

/** Open alerts by state and escalation level, and how many of them are past their deadline (the board, /metrics). */
export function openAlertCounts(db: Database) {
  return (
    db
      .select({
        state: alerts.state,
        escalationLevel: alerts.escalationLevel,
        open: count(),
        overdue: sql<number>`count(*) filter (where ${alerts.overdue})::int`,
      })
      .from(alerts)
      // The open states by name, not "not closed": the queue index (state first) then skips the closed rows.
      .where(inArray(alerts.state, OPEN_ALERT_STATES))
      .groupBy(alerts.state, alerts.escalationLevel)
  );
}

/** Stop-payment cases awaiting approval or holding money, by state and escalation level (the board, /metrics). */
export function openCaseCounts(db: Database) {
  return db
    .select({ state: stopPayments.state, escalationLevel: stopPayments.escalationLevel, open: count() })
    .from(stopPayments)
    .where(inArray(stopPayments.state, ['pending_approval', 'active']))
    .groupBy(stopPayments.state, stopPayments.escalationLevel);
}

/** What the outbox has not delivered: how many, and since when the oldest waits (the board, /metrics). */
export async function undeliveredNotifications(db: Database) {
  const [row] = await db
    .select({ count: count(), oldest: min(notifications.createdAt) })
    .from(notifications)
    .where(isNull(notifications.deliveredAt));
  return { count: row?.count ?? 0, oldestCreatedAt: row?.oldest ?? null };
}

/** Per-level counts summed per state, as the board shows them. */
function byState<R extends { state: string; open: number }>(rows: R[], late: (row: R) => number) {
  const states: Record<string, { open: number; overdue: number }> = {};
  for (const row of rows) {
    const sum = (states[row.state] ??= { open: 0, overdue: 0 });
    sum.open += row.open;
    sum.overdue += late(row);
  }
  return states;
}

export function createBoardService({ db }: { db: Database }) {
  return {
    async snapshot(user: User) {
      requireRole(user, MAY.readNotifications);
      const now = new Date();
      const [alertCounts, caseCounts, lateAlerts, lateCases, present, held, undelivered, outbox] = await Promise.all([
        openAlertCounts(db),
        openCaseCounts(db),
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
        undeliveredNotifications(db),
      ]);
      return {
        alertStates: byState(alertCounts, (r) => r.overdue),
        // A case is late once its deadline has escalated.
        caseStates: byState(caseCounts, (r) => (r.escalationLevel > 0 ? r.open : 0)),
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
          count: outbox.count,
          latest: undelivered.map((n) => ({ ...n, createdAt: n.createdAt.toISOString() })),
        },
      };
    },
  };
}

export type BoardService = ReturnType<typeof createBoardService>;
