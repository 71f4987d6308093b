/** The audit archive's plain vocabulary, shared by the ArchiverWorkflow, its activities and its schedule. */

export const ARCHIVER_WORKFLOW_TYPE = 'ArchiverWorkflow';

export interface ArchiverInput {
  /** Whose closed runs to archive: the task queue the case workflows run on. */
  taskQueue: string;
  /** Runs per listing (default 100). */
  batchSize?: number;
  /** Listings per archiver run (default 10); the schedule's next run carries on. */
  maxBatches?: number;
}

export interface RunRef {
  workflowId: string;
  runId: string;
}

export type ArchiveOutcome = 'archived' | 'already_archived' | 'gone' | 'still_open';

/**
 * The archive's newest record as an archiver run left it: what the run returns, so that Temporal — which
 * whoever owns the database cannot rewrite — holds the chain's head (chain v2, audit/chain.ts).
 */
export interface ArchiveHead {
  id: number;
  sha256: string;
  /** null: a v1 record (written before the archive was keyed). */
  mac: string | null;
}
