/**
 * What a supervisor alerts on, as figures for Prometheus (api/routes/metrics.ts): computed from the
 * database at each scrape, so every API process reports the same values (a dashboard takes the max of
 * them, never the sum). Counts only: no person, phone or account leaves here.
 */
import { and, desc, gte, inArray, isNotNull, max, min, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, auditArchive, holds, stopPayments } from '#db/schema.js';
import type { Policy } from '#domain/policy.js';
import { LOOK_BACK_MS } from '#audit/archive.js';
import { openAlertCounts, openCaseCounts, undeliveredNotifications } from './board.js';

/** A stop lapses unless frozen, a freeze expires unless renewed: each is "about to" within its reminder. */
const reminderBefore = (policy: Policy) => ({
  stopped: policy.stopPayment.freezeReminderBefore,
  frozen: policy.stopPayment.renewalReminderBefore,
});

export function createOperationsService({ db, policy }: { db: Database; policy: Policy }) {
  /** Holds whose money is released at their expiry unless someone acts, by state: how many within the reminder, and the soonest. */
  async function holdsRunningOut(now: Date) {
    const before = reminderBefore(policy);
    const horizon = (ms: number) => new Date(now.getTime() + ms).toISOString();
    const rows = await db
      .select({
        state: holds.state,
        expiring: sql<number>`count(*) filter (where ${holds.expiresAt} <= case ${holds.state}
          when 'stopped' then ${horizon(before.stopped)}::timestamptz
          else ${horizon(before.frozen)}::timestamptz end)::int`,
        soonest: min(holds.expiresAt),
      })
      .from(holds)
      .where(and(inArray(holds.state, ['stopped', 'frozen']), isNotNull(holds.expiresAt)))
      .groupBy(holds.state);
    return (['stopped', 'frozen'] as const).map((state) => {
      const row = rows.find((r) => r.state === state);
      return {
        state,
        withinSeconds: before[state] / 1000,
        expiring: row?.expiring ?? 0,
        soonestSeconds: row?.soonest ? (row.soonest.getTime() - now.getTime()) / 1000 : null,
      };
    });
  }

  /**
   * The oldest alert or case closed in the read model whose workflow the audit archive does not hold
   * yet. Only closings since shortly before the newest archived one are looked at, as the archiver
   * itself does (audit/archive.ts): it archives oldest first, so nothing earlier is waiting.
   */
  async function archiveLag(now: Date) {
    // Both through indexes: the archive's rows are many (one per closed run), each scrape reads two.
    const [[newest], [last]] = await Promise.all([
      db.select({ closedAt: max(auditArchive.closedAt) }).from(auditArchive),
      db.select({ archivedAt: auditArchive.archivedAt }).from(auditArchive).orderBy(desc(auditArchive.id)).limit(1),
    ]);
    const since = newest?.closedAt ? new Date(newest.closedAt.getTime() - LOOK_BACK_MS) : new Date(0);
    const oldestUnarchived = (table: typeof alerts | typeof stopPayments) =>
      db
        .select({ closedAt: min(table.closedAt) })
        .from(table)
        .where(
          and(
            gte(table.closedAt, since),
            sql`not exists (select 1 from ${auditArchive} where ${auditArchive.workflowId} = ${table.workflowId})`,
          ),
        );
    const [[alert], [stopPayment]] = await Promise.all([oldestUnarchived(alerts), oldestUnarchived(stopPayments)]);
    const oldest = [alert?.closedAt, stopPayment?.closedAt]
      .filter((d): d is Date => d instanceof Date)
      .sort((a, b) => a.getTime() - b.getTime())[0];
    return {
      lagSeconds: oldest ? (now.getTime() - oldest.getTime()) / 1000 : 0,
      lastArchivedAt: last?.archivedAt ?? null,
    };
  }

  return {
    async figures() {
      const now = new Date();
      const [alertCounts, caseCounts, expiring, outbox, archive] = await Promise.all([
        openAlertCounts(db),
        openCaseCounts(db),
        holdsRunningOut(now),
        undeliveredNotifications(db),
        archiveLag(now),
      ]);
      return {
        alerts: alertCounts,
        stopPayments: caseCounts,
        holdsRunningOut: expiring,
        notifications: {
          undelivered: outbox.count,
          oldestUndeliveredSeconds: outbox.oldestCreatedAt
            ? Math.max(0, (now.getTime() - outbox.oldestCreatedAt.getTime()) / 1000)
            : 0,
        },
        archive,
      };
    },
  };
}

export type OperationsService = ReturnType<typeof createOperationsService>;
export type OperationsFigures = Awaited<ReturnType<OperationsService['figures']>>;
