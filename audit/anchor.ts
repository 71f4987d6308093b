/**
 * The archive's anchor in Temporal: each archiver run returns the head it leaves (workflows/archiver.ts),
 * and Temporal keeps that result where whoever owns the database cannot rewrite it. The anchor is the
 * newest head among the last completed archiver runs on the task queue (several: archivers may race,
 * and visibility lists a run a moment after it closes).
 */
import type { Client } from '@temporalio/client';
import { ARCHIVER_WORKFLOW_TYPE, type ArchiveHead } from '#domain/archive.js';
import type { Anchor } from './chain.js';

/** How many of the newest completed archiver runs are read for their head. */
const RUNS_READ = 20;

const quote = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const isHead = (value: unknown): value is ArchiveHead | null =>
  value === null ||
  (typeof value === 'object' &&
    typeof (value as ArchiveHead).id === 'number' &&
    typeof (value as ArchiveHead).sha256 === 'string');

/** The newest anchored head, or null when no archiver run has anchored one (all ran before anchoring, or none ran). */
export async function readAnchor(client: Client, taskQueue: string): Promise<Anchor | null> {
  const query = `WorkflowType = ${quote(ARCHIVER_WORKFLOW_TYPE)} AND TaskQueue = ${quote(taskQueue)} AND ExecutionStatus = 'Completed'`;
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const run of client.workflow.list({ query, pageSize: RUNS_READ })) {
    runs.push({ workflowId: run.workflowId, runId: run.runId });
    if (runs.length >= RUNS_READ) break;
  }
  let newest: Anchor | null = null;
  for (const run of runs) {
    const result: unknown = await client.workflow.getHandle(run.workflowId, run.runId).result();
    // Runs from before anchoring (patch archive-anchor) return no head.
    if (typeof result !== 'object' || result === null || !('head' in result)) continue;
    const head = (result as { head: unknown }).head;
    if (!isHead(head)) continue;
    if (!newest || (head?.id ?? 0) > (newest.head?.id ?? 0))
      newest = {
        head: head && { id: head.id, sha256: head.sha256, mac: head.mac ?? null },
        by: `${run.workflowId}/${run.runId}`,
      };
  }
  return newest;
}
