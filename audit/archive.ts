/**
 * The history archive (DESIGN.md §6): finds closed workflow runs not yet archived and copies each full
 * history into `audit_archive`, hash-chained and sealed with the archive's key; and names the head an
 * archiver run anchors in Temporal. Idempotent: a run is archived once however often (or however
 * concurrently) this runs; the archive activities are thin wrappers around it.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { and, eq, inArray, max } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { auditArchive } from '#db/schema.js';
import { ARCHIVER_WORKFLOW_TYPE, type ArchiveHead, type ArchiveOutcome, type RunRef } from '#domain/archive.js';
import { readAnchor } from './anchor.js';
import { appendToArchive, archiveHead, NoArchiveKeyError } from './chain.js';
import { closedRunFacts, historyText, isNotFound } from './source.js';
import type { JsonHistory } from './timeline.js';

/** Visibility lags a little behind closing; runs closed this long before the newest archived one are looked at again. */
export const LOOK_BACK_MS = 10 * 60_000;

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

/**
 * `client` reads Temporal; `key` seals each record (config archiveKey; null: nothing is archived);
 * `heartbeat` is called while a long listing goes on (an activity's heartbeat).
 */
export function createArchiver({
  db,
  client,
  key,
  heartbeat = () => {},
}: {
  db: Database;
  client: Client;
  key: Buffer | null;
  heartbeat?: () => void;
}) {
  return {
    /**
     * Closed runs on the task queue that the archive does not hold yet, oldest first. Only runs
     * closed since shortly before the newest archived one are listed (all of them the first time).
     */
    async listArchivable(input: { taskQueue: string; limit: number }): Promise<RunRef[]> {
      const [{ newest } = { newest: null }] = await db
        .select({ newest: max(auditArchive.closedAt) })
        .from(auditArchive);
      const since = newest ? new Date(newest.getTime() - LOOK_BACK_MS) : null;
      let query = `TaskQueue = ${quote(input.taskQueue)} AND ExecutionStatus != 'Running' AND WorkflowType != ${quote(ARCHIVER_WORKFLOW_TYPE)}`;
      if (since) query += ` AND CloseTime >= ${quote(since.toISOString())}`;
      const closed: (RunRef & { closedAt: number })[] = [];
      for await (const run of client.workflow.list({ query })) {
        closed.push({ workflowId: run.workflowId, runId: run.runId, closedAt: run.closeTime?.getTime() ?? 0 });
        if (closed.length % 100 === 0) heartbeat();
      }
      const archived = new Set<string>();
      const key = (r: RunRef) => `${r.workflowId}\u0000${r.runId}`;
      for (let i = 0; i < closed.length; i += 500) {
        const ids = [...new Set(closed.slice(i, i + 500).map((r) => r.workflowId))];
        const rows = await db
          .select({ workflowId: auditArchive.workflowId, runId: auditArchive.runId })
          .from(auditArchive)
          .where(inArray(auditArchive.workflowId, ids));
        for (const row of rows) archived.add(key(row));
      }
      return closed
        .filter((r) => !archived.has(key(r)))
        .sort(
          (a, b) =>
            a.closedAt - b.closedAt || a.workflowId.localeCompare(b.workflowId) || a.runId.localeCompare(b.runId),
        )
        .slice(0, input.limit)
        .map(({ workflowId, runId }) => ({ workflowId, runId }));
    },

    /** Copies one closed run's full history into the archive, once. */
    async archiveRun(run: RunRef): Promise<ArchiveOutcome> {
      // No retry brings a key: fail the run at once, saying what is missing.
      if (!key) throw ApplicationFailure.nonRetryable(new NoArchiveKeyError().message, 'NoArchiveKey');
      const [done] = await db
        .select({ id: auditArchive.id })
        .from(auditArchive)
        .where(and(eq(auditArchive.workflowId, run.workflowId), eq(auditArchive.runId, run.runId)));
      if (done) return 'already_archived';
      let text: string;
      try {
        text = historyText(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
        heartbeat();
      } catch (error) {
        if (isNotFound(error)) return 'gone';
        throw error;
      }
      const facts = closedRunFacts(JSON.parse(text) as JsonHistory);
      if (!facts) return 'still_open';
      const { created } = await appendToArchive(db, key, { ...run, ...facts, history: text });
      return created ? 'archived' : 'already_archived';
    },

    /**
     * The head an archiver run leaves, for it to anchor in Temporal — once the head that earlier runs
     * anchored is found still in place. If it is gone or rewritten, the archive lost its newest records
     * (or had them rewritten): this refuses, so that no later anchor covers it up, and verification keeps
     * reporting it against the last good anchor.
     */
    async anchorHead(input: { taskQueue: string }): Promise<ArchiveHead | null> {
      const anchor = await readAnchor(client, input.taskQueue);
      if (anchor?.head) {
        const [row] = await db
          .select({ sha256: auditArchive.sha256, mac: auditArchive.mac })
          .from(auditArchive)
          .where(eq(auditArchive.id, anchor.head.id));
        if (!row || row.sha256 !== anchor.head.sha256 || row.mac !== anchor.head.mac)
          throw ApplicationFailure.nonRetryable(
            `The audit archive no longer holds record ${anchor.head.id} as archiver run ${anchor.by} anchored it: records were deleted or rewritten; not anchoring over it`,
            'ArchiveAnchorLost',
          );
      }
      return archiveHead(db);
    },
  };
}

export type Archiver = ReturnType<typeof createArchiver>;
