/** The recorder's bookkeeping (workflows/step-log.ts), without Temporal: what each projection batch carries. */
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DecisionActor } from '../../domain/alert.js';
import type { AlertStepKind } from '../../domain/steps.js';
import { StepLog, type RecordBatch } from '../../workflows/step-log.js';

const OPERATOR: DecisionActor = { userId: 'u1', name: '王警官', role: 'operator' };
const draft = (message: string) => ({
  recipientRole: 'supervisor' as const,
  kind: 'alert_overdue',
  message,
  payload: {},
});
const kinds = (batch: RecordBatch<unknown>) => batch.events.map((s) => [s.seq, s.event.kind]);

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-28T10:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StepLog', () => {
  it('numbers steps in order and keeps numbering across batches', () => {
    const log = new StepLog<AlertStepKind>();
    expect(log.record('received', null)).toBe(1);
    expect(log.record('claimed', OPERATOR, { attempt: 1 })).toBe(2);
    const first = log.take('view 1');
    expect(kinds(first)).toEqual([
      [1, 'received'],
      [2, 'claimed'],
    ]);
    expect(log.record('released', OPERATOR)).toBe(3);
    const second = log.take('view 2');
    expect(kinds(second)).toEqual([[3, 'released']]);
    expect([first.seq, second.seq]).toEqual([2, 3]);
  });

  it('carries each step once, whole, in the next batch only', () => {
    const log = new StepLog<AlertStepKind>();
    vi.setSystemTime(new Date('2026-11-28T10:05:00Z'));
    log.record('claimed', OPERATOR, { attempt: 1 });
    log.record('received', null);
    expect(log.take(null).events.map((s) => s.event)).toEqual([
      {
        at: '2026-11-28T10:05:00.000Z',
        kind: 'claimed',
        actor: { userId: 'u1', role: 'operator' },
        detail: { attempt: 1 },
      },
      { at: '2026-11-28T10:05:00.000Z', kind: 'received', actor: null, detail: {} },
    ]);
    log.touch();
    expect(log.take(null).events).toEqual([]);
  });

  it('carries the sequence on across continue-as-new', () => {
    const log = new StepLog<AlertStepKind>(41);
    expect(log.seq).toBe(41);
    log.notify(draft('before any step of this run'));
    expect(log.record('requeued', null)).toBe(42);
    const batch = log.take('view');
    expect(kinds(batch)).toEqual([[42, 'requeued']]);
    expect(batch.seq).toBe(42);
    expect(batch.notifications.map((n) => n.seq)).toEqual([41]);
  });

  it('gives a notification the sequence number of the latest step', () => {
    const log = new StepLog<AlertStepKind>();
    log.record('received', null);
    log.record('deadline_missed', null);
    log.notify(draft('first'));
    const first = log.take('view');
    log.record('deadline_missed', null);
    log.notify(draft('second'));
    log.notify(draft('second, to someone else'));
    const second = log.take('view');
    expect(first.notifications).toEqual([{ ...draft('first'), seq: 2 }]);
    expect(second.notifications.map((n) => [n.message, n.seq])).toEqual([
      ['second', 3],
      ['second, to someone else', 3],
    ]);
  });

  it('asks for a projection on touch() without a step', () => {
    const log = new StepLog<AlertStepKind>();
    log.record('received', null);
    log.take('view 1');
    expect(log.dirty).toBe(false);
    log.touch();
    expect(log.dirty).toBe(true);
    expect(log.changes).toBe(1);
    expect(log.take('view 2')).toEqual({ view: 'view 2', seq: 1, events: [], notifications: [] });
    expect(log.dirty).toBe(false);
  });

  it('is dirty until a batch takes what is queued; only steps count as changes', () => {
    const log = new StepLog<AlertStepKind>();
    expect([log.dirty, log.changes]).toEqual([false, 0]);
    log.record('received', null);
    expect([log.dirty, log.changes]).toEqual([true, 1]);
    log.take('view');
    expect([log.dirty, log.changes]).toEqual([false, 1]);
    log.notify(draft('n'));
    expect([log.dirty, log.changes]).toEqual([true, 1]);
    log.take('view');
    expect(log.take('view')).toEqual({ view: 'view', seq: 1, events: [], notifications: [] });
  });

  it('only accepts the workflow’s own step kinds', () => {
    const log = new StepLog<AlertStepKind>();
    // @ts-expect-error a stop-payment step is not an alert step (checked by tsc --noEmit)
    log.record('holds_started', null);
    expect(log.seq).toBe(1);
  });

  // Any interleaving of steps, notifications, touches and batches.
  type Op = { op: 'record' } | { op: 'notify' } | { op: 'touch' } | { op: 'take' };
  const ops = fc.array(
    fc.oneof(
      fc.constant<Op>({ op: 'record' }),
      fc.constant<Op>({ op: 'notify' }),
      fc.constant<Op>({ op: 'touch' }),
      fc.constant<Op>({ op: 'take' }),
    ),
    { maxLength: 60 },
  );

  it('projects every step once, in order, and no batch carries a view older than one before it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1000 }), ops, (startSeq, program) => {
        const log = new StepLog<AlertStepKind>(startSeq);
        const batches: RecordBatch<number>[] = [];
        let recorded = 0;
        for (const { op } of program) {
          if (op === 'record') recorded = log.record('platform_update', null);
          else if (op === 'notify') log.notify(draft(`after ${log.seq}`));
          else if (op === 'touch') log.touch();
          // The view taken is the sequence number it includes, so a batch can be checked against its view.
          else batches.push(log.take(log.seq));
        }
        batches.push(log.take(log.seq));
        const seqs = batches.flatMap((b) => b.events.map((s) => s.seq));
        expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => startSeq + 1 + i));
        expect(seqs.at(-1) ?? startSeq).toBe(recorded || startSeq);
        for (const [i, batch] of batches.entries()) {
          expect(batch.view).toBe(batch.seq);
          for (const step of batch.events) expect(step.seq).toBeLessThanOrEqual(batch.seq);
          if (i > 0) expect(batch.seq).toBeGreaterThanOrEqual(batches[i - 1]!.seq);
          for (const n of batch.notifications) expect(n.message).toBe(`after ${n.seq}`);
        }
        expect(log.dirty).toBe(false);
      }),
      { seed: 20261128, numRuns: 300 },
    );
  });
});
