/**
 * The history archive (DESIGN.md §6): activities that find closed workflow runs not yet archived and
 * copy each full history into `audit_archive`, hash-chained; and the Temporal Schedule that runs the
 * ArchiverWorkflow. Both activities are idempotent: a run is archived once however often (or however
 * concurrently) they run.
 */
import { Context } from '@temporalio/activity';
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { and, eq, inArray, max } from 'drizzle-orm';
import { appendToArchive } from '../api/audit/chain.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { closedRunFacts, isNotFound } from '../api/audit/source.js';
import type { JsonHistory } from '../api/audit/timeline.js';
import type { Database } from '../db/client.js';
import { auditArchive } from '../db/schema.js';
import type { ArchiverInput } from '../workflows/archiver.js';

export interface RunRef {
  workflowId: string;
  runId: string;
}

export type ArchiveOutcome = 'archived' | 'already_archived' | 'gone' | 'still_open';

/** Visibility lags a little behind closing; runs closed this long before the newest archived one are looked at again. */
const LOOK_BACK_MS = 10 * 60_000;
export const ARCHIVER_WORKFLOW_TYPE = 'ArchiverWorkflow';

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export function createArchiveActivities({ db }: { db: Database }) {
  return {
    /**
     * Closed runs on the task queue that the archive does not hold yet, oldest first. Only runs
     * closed since shortly before the newest archived one are listed (all of them the first time).
     */
    async listArchivable(input: { taskQueue: string; limit: number }): Promise<RunRef[]> {
      const client = Context.current().client;
      const [{ newest } = { newest: null }] = await db.select({ newest: max(auditArchive.closedAt) }).from(auditArchive);
      const since = newest ? new Date(newest.getTime() - LOOK_BACK_MS) : null;
      let query = `TaskQueue = ${quote(input.taskQueue)} AND ExecutionStatus != 'Running' AND WorkflowType != ${quote(ARCHIVER_WORKFLOW_TYPE)}`;
      if (since) query += ` AND CloseTime >= ${quote(since.toISOString())}`;
      const closed: (RunRef & { closedAt: number })[] = [];
      for await (const run of client.workflow.list({ query })) {
        closed.push({ workflowId: run.workflowId, runId: run.runId, closedAt: run.closeTime?.getTime() ?? 0 });
        if (closed.length % 1000 === 0) Context.current().heartbeat();
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
        .sort((a, b) => a.closedAt - b.closedAt || a.workflowId.localeCompare(b.workflowId) || a.runId.localeCompare(b.runId))
        .slice(0, input.limit)
        .map(({ workflowId, runId }) => ({ workflowId, runId }));
    },

    /** Copies one closed run's full history into the archive, once. */
    async archiveRun(run: RunRef): Promise<ArchiveOutcome> {
      const [done] = await db
        .select({ id: auditArchive.id })
        .from(auditArchive)
        .where(and(eq(auditArchive.workflowId, run.workflowId), eq(auditArchive.runId, run.runId)));
      if (done) return 'already_archived';
      let text: string;
      try {
        text = historyToJSON(await Context.current().client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
      } catch (error) {
        if (isNotFound(error)) return 'gone';
        throw error;
      }
      const facts = closedRunFacts(JSON.parse(text) as JsonHistory);
      if (!facts) return 'still_open';
      const { created } = await appendToArchive(db, { ...run, ...facts, history: text });
      return created ? 'archived' : 'already_archived';
    },
  };
}

export type ArchiveActivities = ReturnType<typeof createArchiveActivities>;

/** `fanzha-archiver` for the default task queue: one schedule per deployment sharing a namespace. */
export const archiverScheduleId = (taskQueue: string) => `${taskQueue}-archiver`;

/**
 * Creates the schedule that runs the archiver every `everyMs`, or brings an existing one in line
 * (interval, task queue). Safe to call from every process at every start, also concurrently.
 */
export async function ensureArchiverSchedule(
  client: Client,
  options: { taskQueue: string; everyMs: number; scheduleId?: string },
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = options.scheduleId ?? archiverScheduleId(options.taskQueue);
  const spec = { intervals: [{ every: options.everyMs }] };
  const args: [ArchiverInput] = [{ taskQueue: options.taskQueue }];
  const action = { type: 'startWorkflow' as const, workflowType: ARCHIVER_WORKFLOW_TYPE, workflowId: scheduleId, taskQueue: options.taskQueue, args };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      // One archiver at a time per schedule; an outage does not queue up a burst of runs.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const every = current.spec.intervals?.[0]?.every;
  const sameQueue = current.action.type === 'startWorkflow' && current.action.taskQueue === options.taskQueue;
  if (every === Math.round(options.everyMs / 1000) * 1000 && current.spec.intervals?.length === 1 && sameQueue) return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action }));
  return 'updated';
}
