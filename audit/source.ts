/**
 * Where a workflow's history comes from: Temporal while it has it (running, or closed and within
 * retention), the audit archive after (or while Temporal is unreachable). A continue-as-new chain is
 * followed back from the newest run through each run's `continuedExecutionRunId`, so a freeze renewed
 * many times reads as one story.
 */
import type { Client } from '@temporalio/client';
import { WorkflowNotFoundError } from '@temporalio/common';
import { and, desc, eq } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { auditArchive } from '#db/schema.js';
import { isUnavailable } from '#domain/unavailable.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { closingStatusOf, previousRunOf, workflowTypeOf, type JsonHistory } from './timeline.js';

/** Proto map fields in a history's JSON: their key order is the server's map order, which Go randomizes. */
const MAP_FIELDS = new Set(['metadata', 'indexedFields', 'fields']);
const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A history as the JSON `temporal workflow show --output json` prints, with the keys of its map fields
 * sorted: two reads of one history give the same text (and the archive's hash means the same bytes).
 */
export function historyText(history: Parameters<typeof historyToJSON>[0]): string {
  return JSON.stringify(
    JSON.parse(historyToJSON(history)),
    (key, value: unknown) =>
      MAP_FIELDS.has(key) && isPlainObject(value)
        ? Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : value,
    2,
  );
}

export interface LoadedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: string;
  startedAt: string | null;
  closedAt: string | null;
  /** The history JSON text (for the archive: exactly the stored, hashed bytes). */
  text: string;
  history: JsonHistory;
  source: 'temporal' | 'archive';
}

/** Most runs one chain is followed through (a freeze renewed every 6 months for 250 years). */
const MAX_RUNS = 500;
const GRPC_NOT_FOUND = 5;

export const isNotFound = (error: unknown) =>
  error instanceof WorkflowNotFoundError || (error as { code?: unknown } | null)?.code === GRPC_NOT_FOUND;

export function createHistorySource(deps: { db: Database; temporal: Client | null }) {
  const { db, temporal } = deps;

  async function fromTemporal(workflowId: string, runId?: string): Promise<LoadedRun | null> {
    if (!temporal) return null;
    try {
      const description = await temporal.workflow.getHandle(workflowId, runId).describe();
      const history = await temporal.workflow.getHandle(workflowId, description.runId).fetchHistory();
      const text = historyText(history);
      const parsed = JSON.parse(text) as JsonHistory;
      return {
        workflowId,
        runId: description.runId,
        workflowType: description.type,
        status: description.status.name,
        startedAt: description.startTime.toISOString(),
        closedAt: description.closeTime?.toISOString() ?? null,
        text,
        history: parsed,
        source: 'temporal',
      };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async function fromArchive(workflowId: string, runId?: string): Promise<LoadedRun | null> {
    const [row] = await db
      .select()
      .from(auditArchive)
      .where(and(eq(auditArchive.workflowId, workflowId), runId ? eq(auditArchive.runId, runId) : undefined))
      .orderBy(desc(auditArchive.closedAt), desc(auditArchive.id))
      .limit(1);
    if (!row) return null;
    const history = JSON.parse(row.history) as JsonHistory;
    return {
      workflowId,
      runId: row.runId,
      workflowType: row.workflowType,
      status: row.status,
      startedAt: history.events[0]?.eventTime ? new Date(Date.parse(history.events[0].eventTime)).toISOString() : null,
      closedAt: row.closedAt.toISOString(),
      text: row.history,
      history,
      source: 'archive',
    };
  }

  /** One run (the newest without `runId`): from Temporal, else from the archive. */
  async function loadRun(workflowId: string, runId?: string): Promise<LoadedRun | null> {
    try {
      const live = await fromTemporal(workflowId, runId);
      if (live) return live;
    } catch (error) {
      // Temporal unreachable: a closed run is still in the archive.
      if (!isUnavailable(error)) throw error;
      const archived = await fromArchive(workflowId, runId);
      if (archived) return archived;
      throw error;
    }
    return fromArchive(workflowId, runId);
  }

  /** Every run of the newest chain, oldest first; `missingRunId` names a run neither source has any more. */
  async function loadChain(workflowId: string): Promise<{ runs: LoadedRun[]; missingRunId: string | null } | null> {
    const newest = await loadRun(workflowId);
    if (!newest) return null;
    const runs = [newest];
    const seen = new Set([newest.runId]);
    let previous = previousRunOf(newest.history);
    let missingRunId: string | null = null;
    while (previous && !seen.has(previous) && runs.length < MAX_RUNS) {
      const run = await loadRun(workflowId, previous);
      if (!run) {
        missingRunId = previous;
        break;
      }
      seen.add(run.runId);
      runs.unshift(run);
      previous = previousRunOf(run.history);
    }
    return { runs, missingRunId };
  }

  return { loadRun, loadChain, fromTemporal, fromArchive };
}

export type HistorySource = ReturnType<typeof createHistorySource>;

/** Facts of a closed history that the archive stores beside it. */
export function closedRunFacts(history: JsonHistory): { workflowType: string; status: string; closedAt: Date } | null {
  const { status, closedAt } = closingStatusOf(history);
  if (status === 'RUNNING' || !closedAt) return null;
  return { workflowType: workflowTypeOf(history), status, closedAt: new Date(closedAt) };
}
