/**
 * The one way a workflow tells the read model what happened: record a step (it joins the timeline
 * at once) and let a single loop project steps in order, one batch per activity call. Each step
 * has a sequence number, so a replayed or retried projection writes nothing twice.
 */
import { condition } from '@temporalio/workflow';
import type { DecisionActor, TimelineEvent } from '../domain/alert.js';
import type { NotificationDraft } from '../domain/notification.js';

export interface RecordedStep {
  seq: number;
  event: TimelineEvent;
}

export interface RecordBatch<View> {
  view: View;
  /** The newest step this view includes: an older view never overwrites a newer one. */
  seq: number;
  events: RecordedStep[];
  notifications: NotificationDraft[];
}

export interface Recorder {
  /** Appends a step to `timeline` and queues it for projection; returns its sequence number. */
  record(kind: string, actor: DecisionActor | null, detail?: Record<string, unknown>): number;
  /** Queues a notification caused by the latest step. */
  notify(draft: Omit<NotificationDraft, 'seq'>): void;
  /** Queues a projection of the current view without a new step (a change worth showing, not telling). */
  touch(): void;
  /** Increments on every step: the main loop wakes on it. */
  readonly changes: number;
  readonly seq: number;
  /** Waits until everything recorded has been projected. */
  flush(): Promise<void>;
}

export function createRecorder<View>(options: {
  timeline: TimelineEvent[];
  snapshot: () => View;
  write: (batch: RecordBatch<View>) => Promise<void>;
  /** Carried across continue-as-new so sequence numbers never repeat. */
  startSeq?: number;
}): Recorder {
  let seq = options.startSeq ?? 0;
  let changes = 0;
  let dirty = false;
  let writing = false;
  const steps: RecordedStep[] = [];
  const notifications: NotificationDraft[] = [];

  void (async () => {
    for (;;) {
      await condition(() => dirty);
      dirty = false;
      writing = true;
      try {
        await options.write({ view: options.snapshot(), seq, events: steps.splice(0), notifications: notifications.splice(0) });
      } finally {
        writing = false;
      }
    }
  })();

  return {
    record(kind, actor, detail = {}) {
      const event: TimelineEvent = {
        at: new Date(Date.now()).toISOString(),
        kind,
        actor: actor && { userId: actor.userId, role: actor.role },
        detail,
      };
      options.timeline.push(event);
      steps.push({ seq: ++seq, event });
      changes++;
      dirty = true;
      return seq;
    },
    notify(draft) {
      notifications.push({ ...draft, seq });
      dirty = true;
    },
    touch() {
      dirty = true;
    },
    get changes() {
      return changes;
    },
    get seq() {
      return seq;
    },
    async flush() {
      await condition(() => !dirty && !writing);
    },
  };
}
