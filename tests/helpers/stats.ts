import { sql, TransactionRollbackError } from 'drizzle-orm';
import { selectRows, type Database } from '#db/client.js';
import { rebuildStatsRollups } from '#read-model/stats-rollups.js';

/** Every statistics rollup summed over its stripes, without the rows that sum to nothing. */
const rollupSums = (db: Database) =>
  selectRows(
    db,
    sql`select grain, bucket, measure, key, sum(n)::text as n, sum(total)::text as total
          from stats_rollups group by 1, 2, 3, 4
        having sum(n) <> 0 or sum(total) <> 0
         order by 1, 2, 3, 4`,
  );

/**
 * The statistics' rollups as the writes kept them, and as the migration's backfill builds them from the
 * rows: read at one moment (writers wait) in a transaction that is rolled back, so nothing changes.
 */
export async function keptAndRebuiltRollups(db: Database) {
  const found = { kept: [] as unknown[], rebuilt: [] as unknown[] };
  await db
    .transaction(async (tx) => {
      await tx.execute(sql`lock table alerts, stop_payments, case_events in share mode`);
      found.kept = await rollupSums(tx);
      await rebuildStatsRollups(tx);
      found.rebuilt = await rollupSums(tx);
      tx.rollback();
    })
    .catch((error: unknown) => {
      if (!(error instanceof TransactionRollbackError)) throw error;
    });
  return found;
}
