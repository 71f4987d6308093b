/**
 * Reading the statistics' rollups (kept by the triggers of db/migrations/0009_stats_rollups.sql in the
 * transaction of every write to alerts, stop_payments and case_events), and rebuilding them.
 */
import { sql } from 'drizzle-orm';
import { selectRows, type Database } from '#db/client.js';
import { periodPieces } from '#domain/stats-rollups.js';

/** A measure of the statistics and one of its keys (an outcome, a station, a sketch bucket …): a count and a sum of fen. */
export interface Contribution {
  measure: string;
  key: string;
  n: number;
  total: number;
}

const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

/**
 * Everything that counts in [from, to), summed: the whole months, days and hours from the rollups, the
 * partial hours at the edges from the rows (or their hour's rollup less the rows of the rest of it: one
 * statement, one snapshot, so the difference is exact), by the same contribution functions. Ordered by measure, then
 * count (largest first), then key. `measures` narrows it.
 */
export async function contributionsBetween(
  db: Database,
  from: Date,
  to: Date,
  measures?: string[],
): Promise<Contribution[]> {
  const { rollups, edges } = periodPieces(from, to, new Date());
  const parts = [
    ...rollups.map(
      (r) =>
        sql`select measure, key, n, total from stats_rollups where grain = ${r.grain} and bucket >= ${at(r.from)} and bucket < ${at(r.to)}`,
    ),
    ...edges.map(
      (e) =>
        sql`select measure, key, ${e.sign} * n, ${e.sign} * total from stats_contributions_between(${at(e.from)}, ${at(e.to)})`,
    ),
  ];
  const only = measures
    ? sql`where measure in (${sql.join(
        measures.map((m) => sql`${m}`),
        sql`, `,
      )})`
    : sql``;
  const rows = await selectRows<{ measure: string; key: string; n: string; total: string }>(
    db,
    sql`select measure, key, sum(n) as n, sum(total) as total
          from (${sql.join(parts, sql` union all `)}) as c ${only}
         group by measure, key
        having sum(n) <> 0 or sum(total) <> 0
         order by measure, sum(n) desc, key`,
  );
  return rows.map((r) => ({ measure: r.measure, key: r.key, n: Number(r.n), total: Number(r.total) }));
}

/**
 * The rollups again from the rows themselves (what the migration did to backfill them): after rows were
 * written with the triggers off, or to check that the rollups agree with the rows. Writers wait meanwhile.
 */
export async function rebuildStatsRollups(db: Database): Promise<void> {
  await db.execute(sql`select stats_rollups_rebuild()`);
}
