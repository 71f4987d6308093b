/**
 * What GET returns for one alert or case: the read model once it is closed (final, no Temporal call),
 * otherwise the workflow's own newest view read from its history (never a query: see
 * workflow-view.ts), and the read model again for a workflow Temporal no longer keeps. The timeline
 * is the case's steps in the read model plus those its history holds that are not projected yet:
 * workflows carry steps one at a time, never the whole timeline (so a history grows with its steps,
 * not with their square).
 */
import type { Client } from '@temporalio/client';
import { asc, eq } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { caseEvents } from '#db/schema.js';
import type { TimelineEvent } from '#domain/alert.js';
import type { Role } from '#domain/roles.js';
import { Refusal } from '#domain/refusal.js';
import type { PendingSteps } from '#workflows/messages.js';
import type { RecordedStep } from '#workflows/recorder.js';
import { inSeqOrder, latestWorkflowView } from './workflow-view.js';

/** A workflow shows its first view with its first workflow task, a few milliseconds after it starts: wait that long, not forever. */
const FIRST_VIEW_WAIT_MS = 3_000;
const FIRST_VIEW_STEP_MS = 25;

type Timelined = { timeline: TimelineEvent[] };

export async function currentView<V extends Timelined>(
  deps: { temporal: Client; db: Database },
  workflowId: string,
  row: { closed: boolean; detail: unknown } | undefined,
): Promise<V | null> {
  const projected = await projectedSteps(deps.db, workflowId);
  const withTimeline = (view: unknown, pending: RecordedStep[] = []): V => ({
    ...(view as V),
    timeline: mergeSteps(projected, pending),
  });
  if (row?.closed) return withTimeline(row.detail);
  const stepsAfter = projected.at(-1)?.seq ?? 0;
  const deadline = Date.now() + FIRST_VIEW_WAIT_MS;
  for (;;) {
    const latest = await latestWorkflowView<V>(deps.temporal, workflowId, { stepsAfter });
    if (!latest) return row ? withTimeline(row.detail) : null;
    if (latest.view) return withTimeline(latest.view, latest.steps);
    if (row) return withTimeline(row.detail, latest.steps);
    // It exists but has nothing to show yet: started a moment ago, or waiting for a worker to take it.
    if (Date.now() >= deadline)
      throw new Refusal(
        'unavailable',
        `${workflowId} has not started running yet (no worker has taken it); retry shortly.`,
      );
    await new Promise((r) => setTimeout(r, FIRST_VIEW_STEP_MS));
  }
}

/** A decision's answer with the timeline it ends (the decision's own steps included). */
export async function withTimeline<V extends PendingSteps>(
  deps: { temporal: Client; db: Database },
  workflowId: string,
  answer: V,
): Promise<Omit<V, 'pendingSteps'> & Timelined> {
  const { pendingSteps = [], ...view } = answer;
  const projected = await projectedSteps(deps.db, workflowId);
  const last = projected.at(-1)?.seq ?? 0;
  // The usual case: the decision's own steps follow the projected ones directly, so no step is on its
  // way in between and the history need not be read (it is most of an answer's cost after the Update).
  const first = pendingSteps.reduce((min, step) => Math.min(min, step.seq), Infinity);
  const onTheirWay =
    first <= last + 1 ? [] : ((await latestWorkflowView(deps.temporal, workflowId, { stepsAfter: last }))?.steps ?? []);
  return { ...view, timeline: mergeSteps(projected, [...onTheirWay, ...pendingSteps]) };
}

/** The steps of a workflow the read model has, oldest first. */
async function projectedSteps(db: Database, workflowId: string): Promise<RecordedStep[]> {
  const rows = await db
    .select({
      seq: caseEvents.seq,
      at: caseEvents.at,
      kind: caseEvents.kind,
      actorUserId: caseEvents.actorUserId,
      actorRole: caseEvents.actorRole,
      detail: caseEvents.detail,
    })
    .from(caseEvents)
    .where(eq(caseEvents.workflowId, workflowId))
    .orderBy(asc(caseEvents.seq));
  return rows.map((r) => ({
    seq: r.seq,
    event: {
      at: r.at.toISOString(),
      kind: r.kind,
      actor: r.actorUserId && r.actorRole ? { userId: r.actorUserId, role: r.actorRole as Role } : null,
      detail: r.detail as Record<string, unknown>,
    },
  }));
}

/** One timeline from the projected steps and the newer ones still on their way (each once, in order). */
function mergeSteps(projected: RecordedStep[], pending: RecordedStep[]): TimelineEvent[] {
  const last = projected.at(-1)?.seq ?? 0;
  return [...projected, ...inSeqOrder(pending.filter((step) => step.seq > last))].map((step) => step.event);
}
