/**
 * ArchiverWorkflow (DESIGN.md §6): run by a Temporal Schedule, it copies every closed workflow run on
 * its task queue into the sealed, hash-chained audit archive, oldest first, a batch at a time, and
 * returns the head it leaves: the anchor that verification compares the table with (audit/anchor.ts).
 * Deterministic: all it does is call the archive activities, which are idempotent, so two archivers
 * racing (or one retried) still archive each run once.
 */
import { patched, proxyActivities } from '@temporalio/workflow';
import type { ArchiveHead, ArchiveOutcome, ArchiverInput } from '../domain/archive.js';
import type { ArchiveActivities } from '../activities/archive.js';

export type { ArchiverInput };

/** Runs from before the anchor-archive-head patch return no `head`. */
export type ArchiverResult = Record<ArchiveOutcome, number> & { head?: ArchiveHead | null };

// The heartbeat timeout finds an archiver activity whose worker died in 30 s: without it the schedule,
// which skips while a run is open, stopped archiving for the whole start-to-close (seen in the cluster
// test, where a worker is killed). Timeouts are not part of a command's identity: histories replay.
const { listArchivable, archiveRun, anchorHead } = proxyActivities<ArchiveActivities>({
  startToCloseTimeout: '5m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

export async function ArchiverWorkflow(input: ArchiverInput): Promise<ArchiverResult> {
  const batchSize = input.batchSize ?? 100;
  const maxBatches = input.maxBatches ?? 10;
  const result: ArchiverResult = { archived: 0, already_archived: 0, gone: 0, still_open: 0 };
  for (let batch = 0; batch < maxBatches; batch++) {
    const runs = await listArchivable({ taskQueue: input.taskQueue, limit: batchSize });
    for (const run of runs) result[await archiveRun(run)] += 1;
    if (runs.length < batchSize) break;
  }
  // The head goes into this run's history (its result), where the database's owner cannot rewrite it.
  if (patched('anchor-archive-head')) result.head = await anchorHead({ taskQueue: input.taskQueue });
  return result;
}
