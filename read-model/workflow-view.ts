/**
 * A workflow's own latest view, read from its history, without asking a worker.
 *
 * Why not the `state` query: a query that reaches a worker while the workflow has events no workflow
 * task has taken yet (after a worker crash the server can hand such a query straight to another
 * worker) makes that worker apply those events for the query alone. Its cached workflow then differs
 * from what the history will say, the next workflow task records commands a replay does not make,
 * and the workflow stops on a nondeterminism error the next time it is rebuilt. The reliability
 * suite caught cases stuck this way. So nothing in Fanzha queries a running workflow.
 *
 * What is read instead is what the workflow itself said last: the newer of the view in the last
 * projection it scheduled and the view its last decision (Update) answered with (a run projects its
 * final view before it completes). After a decision that is exact (read-your-writes for the person who decided); a
 * signal or a timer shows as soon as its projection is scheduled, at most one write later. A hold that
 * continued as new and has not changed since has its view in its input.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import proto from '@temporalio/proto';
import { withoutTimeline } from '#domain/alert.js';
import type { PendingSteps } from '#workflows/messages.js';
import type { RecordedStep } from '#workflows/recorder.js';

/** The activities that project a workflow's view (their first argument carries it as `view`, and the steps it records). */
export const PROJECTION_ACTIVITIES: ReadonlySet<string> = new Set([
  'recordAlertEvents',
  'recordStopPaymentEvents',
  'recordHoldEvents',
]);
const EventType = proto.temporal.api.enums.v1.EventType;
const PAGE_SIZE = 100;

export interface LatestView<V> {
  /** null: the workflow runs but has not projected anything yet (it was started a moment ago, or no worker has run it yet). */
  view: V | null;
  running: boolean;
  /**
   * The steps of this run that its projections carry with a seq above `stepsAfter`, oldest first: the
   * timeline travels as steps, never whole (issue 15 §3), so a reader adds these to the steps already
   * in the read model. Empty unless `stepsAfter` was given.
   */
  steps: RecordedStep[];
  /** The seq this run started after (a continued run goes on from its predecessor's). */
  startSeq: number;
}

export interface LatestViewOptions {
  /** Also collect the steps with a seq above this (0: every step of the run). */
  stepsAfter?: number;
}

const decode = <T>(payloads: { payloads?: Payload[] | null } | null | undefined): T | undefined => {
  const first = payloads?.payloads?.[0];
  return first ? defaultPayloadConverter.fromPayload<T>(first) : undefined;
};

/** The newest view of `workflowId`'s current run, or null if Temporal does not know it (never started, or past retention). */
export async function latestWorkflowView<V>(
  client: Client,
  workflowId: string,
  options: LatestViewOptions = {},
): Promise<LatestView<V> | null> {
  const { stepsAfter } = options;
  let nextPageToken: Uint8Array | undefined;
  let running: boolean | null = null;
  let view: V | null | undefined;
  /** The steps found, batch by batch (projections and decisions' answers). */
  const batches: RecordedStep[][] = [];
  // Scanning newest first, the steps are complete at the first projection the read model already has.
  let stepsComplete = stepsAfter === undefined;
  const done = (startSeq = 0): LatestView<V> => ({
    view: view ?? null,
    running: running ?? true,
    steps: inSeqOrder(batches.flat()),
    startSeq,
  });
  do {
    let page;
    try {
      page = await client.workflowService.getWorkflowExecutionHistoryReverse({
        namespace: client.options.namespace,
        execution: { workflowId },
        maximumPageSize: PAGE_SIZE,
        nextPageToken,
      });
    } catch (error) {
      if ((error as { code?: number }).code === 5 /* NOT_FOUND */) return null;
      throw error;
    }
    for (const event of page.history?.events ?? []) {
      // The newest event says whether the run is over. (Its result is not the view: a run projects its
      // last view before it completes, and returns only how it ended.)
      if (running === null) running = !CLOSING.has(event.eventType ?? 0);
      if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
        const attributes = event.activityTaskScheduledEventAttributes;
        if (attributes?.activityType?.name && PROJECTION_ACTIVITIES.has(attributes.activityType.name)) {
          const batch = decode<{ view?: V; seq?: number; events?: RecordedStep[] }>(attributes.input);
          if (batch?.view && view === undefined) view = withoutTimeline(batch.view) as V;
          if (!stepsComplete && batch) {
            if ((batch.seq ?? 0) <= stepsAfter!) stepsComplete = true;
            else batches.push((batch.events ?? []).filter((step) => step.seq > stepsAfter!));
          }
        }
      }
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) {
        // Every decision (Update) answers with the view right after it — newer than a projection still
        // waiting for the one before — and with its steps that wait in the workflow for that projection.
        const answer = decode<V & PendingSteps>(
          event.workflowExecutionUpdateCompletedEventAttributes?.outcome?.success,
        );
        if (answer) {
          const { pendingSteps, ...answered } = answer;
          if (view === undefined) view = withoutTimeline(answered) as V;
          if (!stepsComplete && pendingSteps) batches.push(pendingSteps.filter((step) => step.seq > stepsAfter!));
        }
      }
      if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
        // A continued run that has not changed since has its view in its input.
        const input = decode<ContinuedInput<V>>(event.workflowExecutionStartedEventAttributes?.input);
        if (view === undefined) view = input?.hold ?? input?.resume?.view ?? null;
        return done(input?.resume?.seq ?? 0);
      }
      if (view !== undefined && stepsComplete) return done();
    }
    nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
  } while (nextPageToken);
  return done();
}

/** Steps once each, in order: a step can be in a decision's answer and in the projection that took it. */
export function inSeqOrder(steps: RecordedStep[]): RecordedStep[] {
  return [...new Map(steps.map((step) => [step.seq, step])).values()].sort((a, b) => a.seq - b.seq);
}

/** What a run started by continue-as-new carries: a hold its view, a case its view under `resume`. */
interface ContinuedInput<V> {
  hold?: V;
  resume?: { seq?: number; view?: V };
}

const CLOSING = new Set<number>([
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
  EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
]);
