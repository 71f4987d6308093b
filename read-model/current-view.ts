/**
 * What GET returns for one alert or case: the read model once it is closed (final, no Temporal call),
 * otherwise the workflow's own newest view read from its history (never a query: see
 * workflow-view.ts), and the read model again for a workflow Temporal no longer keeps.
 */
import type { Client } from '@temporalio/client';
import { Refusal } from '#domain/refusal.js';
import { latestWorkflowView } from './workflow-view.js';

/** A workflow shows its first view with its first workflow task, a few milliseconds after it starts: wait that long, not forever. */
const FIRST_VIEW_WAIT_MS = 3_000;
const FIRST_VIEW_STEP_MS = 25;

export async function currentView<V>(
  temporal: Client,
  workflowId: string,
  row: { closed: boolean; detail: unknown } | undefined,
): Promise<V | null> {
  if (row?.closed) return row.detail as V;
  const deadline = Date.now() + FIRST_VIEW_WAIT_MS;
  for (;;) {
    const latest = await latestWorkflowView<V>(temporal, workflowId);
    if (!latest) return (row?.detail as V | undefined) ?? null;
    if (latest.view) return latest.view;
    if (row) return row.detail as V;
    // It exists but has nothing to show yet: started a moment ago, or waiting for a worker to take it.
    if (Date.now() >= deadline)
      throw new Refusal(
        'unavailable',
        `${workflowId} has not started running yet (no worker has taken it); retry shortly.`,
      );
    await new Promise((r) => setTimeout(r, FIRST_VIEW_STEP_MS));
  }
}
