/**
 * The one way a workflow tells the read model what happened: record a step and let a single loop project steps in order, one batch per activity call. Each step
 * has a sequence number, so a replayed or retried projection writes nothing twice.
 */
import { condition } from '@temporalio/workflow';
import type { DecisionActor } from '../domain/alert.js';
import type { NotificationDraft } from '../domain/notification.js';
import { StepLog, type RecordBatch, type RecordedStep } from './step-log.js';

export type { RecordBatch, RecordedStep } from './step-log.js';

export interface Recorder<K extends string> {
  /** Queues a step for projection; returns its sequence number. */
  record(kind: K, actor: DecisionActor | null, detail?: Record<string, unknown>): number;
  /** Queues a notification caused by the latest step. */
  notify(draft: Omit<NotificationDraft, 'seq'>): void;
  /** Queues a projection of the current view without a new step (a change worth showing, not telling). */
  touch(): void;
  /** Increments on every step: the main loop wakes on it. */
  readonly changes: number;
  readonly seq: number;
  /** Steps recorded but not yet in a scheduled projection: a decision's answer carries them, so the history shows them at once. */
  readonly queued: RecordedStep[];
  /** Waits until everything recorded has been projected. */
  flush(): Promise<void>;
}

export function createRecorder<View, K extends string>(options: {
  snapshot: () => View;
  write: (batch: RecordBatch<View>) => Promise<void>;
  /** Carried across continue-as-new so sequence numbers never repeat. */
  startSeq?: number;
}): Recorder<K> {
  const log = new StepLog<K>(options.startSeq);
  let writing = false;

  // Awaits exactly as before the split: the commands of one workflow task keep their order.
  void (async () => {
    for (;;) {
      await condition(() => log.dirty);
      writing = true;
      try {
        await options.write(log.take(options.snapshot()));
      } finally {
        writing = false;
      }
    }
  })();

  return {
    record: (kind, actor, detail) => log.record(kind, actor, detail),
    notify: (draft) => log.notify(draft),
    touch: () => log.touch(),
    get changes() {
      return log.changes;
    },
    get seq() {
      return log.seq;
    },
    get queued() {
      return log.queued;
    },
    async flush() {
      await condition(() => !log.dirty && !writing);
    },
  };
}
