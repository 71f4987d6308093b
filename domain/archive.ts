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
