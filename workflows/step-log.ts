/**
 * The bookkeeping behind a workflow's recorder, without Temporal: numbered steps, the notifications
 * they cause, and what the next projection carries. Pure, so it is tested on its own; the recorder
 * (recorder.ts) drives it from the workflow.
 */
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

export class StepLog<K extends string> {
  private lastSeq: number;
  private changeCount = 0;
  private pending = false;
  private readonly steps: RecordedStep[] = [];
  private readonly notifications: NotificationDraft[] = [];

  /** @param startSeq the last sequence number of the run before (continue-as-new), so numbers never repeat */
  constructor(startSeq = 0) {
    this.lastSeq = startSeq;
  }

  /**
   * Queues a step for projection; returns its sequence number. The step travels once, in one batch:
   * no view carries the whole timeline, so a history grows with its steps and not with their square.
   */
  record(kind: K, actor: DecisionActor | null, detail: Record<string, unknown> = {}): number {
    const event: TimelineEvent = {
      at: new Date(Date.now()).toISOString(),
      kind,
      actor: actor && { userId: actor.userId, role: actor.role },
      detail,
    };
    this.steps.push({ seq: ++this.lastSeq, event });
    this.changeCount++;
    this.pending = true;
    return this.lastSeq;
  }

  /** Queues a notification caused by the latest step (it carries that step's seq). */
  notify(draft: Omit<NotificationDraft, 'seq'>): void {
    this.notifications.push({ ...draft, seq: this.lastSeq });
    this.pending = true;
  }

  /** Asks for a projection of the current view without a new step (a change worth showing, not telling). */
  touch(): void {
    this.pending = true;
  }

  /** Takes everything queued since the last batch, with `view` as it is now. */
  take<View>(view: View): RecordBatch<View> {
    this.pending = false;
    return { view, seq: this.lastSeq, events: this.steps.splice(0), notifications: this.notifications.splice(0) };
  }

  /** The steps recorded but not yet handed to a projection (a decision's answer carries them). */
  get queued(): RecordedStep[] {
    return [...this.steps];
  }

  /** Something waits to be projected. */
  get dirty(): boolean {
    return this.pending;
  }

  /** Increments on every step (not on notify or touch). */
  get changes(): number {
    return this.changeCount;
  }

  get seq(): number {
    return this.lastSeq;
  }
}
