/**
 * Statistics of long periods come from rollups that the projections keep in their own transactions:
 * they agree with the rows, count a retried projection once, follow an alert from state to state, let
 * concurrent projections of one hour pass each other, and equal what the migration's backfill builds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts } from '#db/schema.js';
import type { AlertOutcome, AlertState, AlertView, FraudType, RiskLevel, WithoutTimeline } from '#domain/alert.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { SKETCH_ACCURACY } from '#domain/stats-rollups.js';
import { alertRow, projectAlertBatch, type AlertRecordBatch } from '#read-model/alerts.js';
import { projectStopPaymentBatch } from '#read-model/stop-payments.js';
import { mulberry32 } from '#scripts/seeded-random.js';
import { createStatsService } from '#services/stats.js';
import type { RecordedStep } from '#workflows/recorder.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { keptAndRebuiltRollups } from '../helpers/stats.js';

let stack: Stack;
let supervisor: Caller;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  supervisor = await stack.user(['supervisor']);
});
afterAll(() => stack?.close());

const iso = (ms: number) => new Date(ms).toISOString();
const SECOND = 1000;

function alertView(
  alertId: string,
  o: {
    receivedAt: string;
    state?: AlertState;
    firstCallAt?: string | null;
    closedAt?: string | null;
    outcome?: AlertOutcome | null;
    amountAtRiskFen?: number | null;
    fraudType?: FraudType;
    stationId?: string;
    riskLevel?: RiskLevel;
  },
): WithoutTimeline<AlertView> {
  return {
    alertId,
    workflowId: `alert-${alertId}`,
    state: o.state ?? (o.closedAt ? 'closed' : o.firstCallAt ? 'calling' : 'queued'),
    outcome: o.outcome ?? null,
    riskLevel: o.riskLevel ?? 'high',
    fraudType: o.fraudType ?? 'investment',
    stationId: o.stationId ?? 'st-1',
    source: 'ministry',
    issuedAt: o.receivedAt,
    receivedAt: o.receivedAt,
    victim: { phone: '13800000000', name: null },
    suspect: null,
    note: null,
    assignee: null,
    callAttempts: o.firstCallAt ? 1 : 0,
    escalationLevel: 0,
    overdue: false,
    deadline: null,
    amountAtRiskFen: o.amountAtRiskFen ?? null,
    stopPaymentId: null,
    firstCallAt: o.firstCallAt ?? null,
    closedAt: o.closedAt ?? null,
  };
}

function caseView(
  stopPaymentId: string,
  o: {
    reportedAt: string;
    createdAt: string;
    approvedAt?: string | null;
    rejectedAt?: string | null;
    firstStopAt?: string | null;
    requestedFen: number;
    stoppedFen?: number;
    frozenFen?: number;
    major?: boolean;
  },
): WithoutTimeline<StopPaymentView> {
  return {
    stopPaymentId,
    workflowId: `stoppay-${stopPaymentId}`,
    state: o.rejectedAt ? 'rejected' : o.approvedAt ? 'active' : 'pending_approval',
    createdBy: { userId: 'u-taker', name: '接警员' },
    approvedBy: o.approvedAt ? { userId: 'u-approver', name: '审批人' } : null,
    rejectedBy: o.rejectedAt ? { userId: 'u-approver', name: '审批人' } : null,
    rejectionReason: o.rejectedAt ? 'no transfer found' : null,
    reportedAt: o.reportedAt,
    createdAt: o.createdAt,
    approvedAt: o.approvedAt ?? null,
    firstStopAt: o.firstStopAt ?? null,
    closedAt: o.rejectedAt ?? null,
    deadline: null,
    escalationLevel: 0,
    major: o.major ?? false,
    requestedFen: o.requestedFen,
    stoppedFen: o.stoppedFen ?? 0,
    frozenFen: o.frozenFen ?? 0,
    caseRef: null,
    alertId: null,
    victim: { name: '李四', phone: '13900000000' },
    transfers: [],
    holds: [],
  };
}

const breach = (seq: number, at: string, deadline: string, level: number): RecordedStep => ({
  seq,
  event: { at, kind: 'deadline_missed', actor: null, detail: { deadline, level } },
});

const batch = <V>(view: V, seq: number, events: RecordedStep[] = []) => ({ view, seq, events, notifications: [] });

const stats = async (from: string, to: string) => {
  const response = await stack.request(supervisor, { method: 'GET', url: `/v1/stats?from=${from}&to=${to}` });
  expect(response.statusCode).toBe(200);
  return response.json();
};

/** Runs the tasks `width` at a time, as a worker's activity slots do. */
async function inParallel(tasks: (() => Promise<void>)[], width: number) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < tasks.length) await tasks[next++]!();
    }),
  );
}

/** Within the sketch's relative error of the exact value (and the answer's rounding to the millisecond). */
function expectWithinSketchError(rolledUp: number | null, exact: number | null) {
  if (exact === null) return expect(rolledUp).toBeNull();
  expect(rolledUp).not.toBeNull();
  expect(Math.abs(rolledUp! - exact)).toBeLessThanOrEqual(SKETCH_ACCURACY * Math.abs(exact) + 0.002);
}

describe('statistics from rollups', () => {
  it('answers a long period as the rows do: counts and sums exactly, medians and p90 within the sketch error', async () => {
    const random = mulberry32(17);
    // Durations spread over orders of magnitude, as calls (seconds to hours) and closings (minutes to days) are.
    const logNormal = (median: number, spread: number) =>
      median * Math.exp(spread * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random()));
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)]!;
    const start = Date.parse('2026-03-20T00:00:00Z');
    const span = 70 * 86_400_000;
    const tasks: (() => Promise<void>)[] = [];
    for (let i = 0; i < 700; i++) {
      const received = start + Math.floor(random() * span);
      const call = random() < 0.9 ? received + logNormal(120, 1) * SECOND : null;
      const close = call !== null && random() < 0.85 ? call + logNormal(1800, 1.3) * SECOND : null;
      const view = alertView(`L-${i}`, {
        receivedAt: iso(received),
        firstCallAt: call === null ? null : iso(call),
        closedAt: close === null ? null : iso(close),
        outcome: close === null ? null : pick(['dissuaded', 'dissuaded', 'defrauded', 'false_positive', 'unreachable']),
        amountAtRiskFen: random() < 0.8 ? Math.floor(random() * 5_000_000) : null,
        fraudType: pick(['investment', 'loan', 'romance', 'order_brushing', 'other']),
        stationId: `st-${Math.floor(random() * 12)}`,
        riskLevel: pick(['high', 'medium', 'low']),
      });
      const breaches =
        random() < 0.2 ? [breach(2, iso(received + 300 * SECOND), pick(['claim', 'call', 'visit']), 1)] : [];
      if (breaches.length > 0 && random() < 0.3) breaches.push(breach(3, iso(received + 600 * SECOND), 'claim', 2));
      // As a workflow projects it: received first, then where it ended (with its breaches).
      tasks.push(async () => {
        await projectAlertBatch(stack.database.db, batch(alertView(view.alertId, { receivedAt: view.receivedAt }), 1));
        await projectAlertBatch(stack.database.db, batch(view, 4, breaches));
      });
    }
    for (let i = 0; i < 120; i++) {
      const created = start + Math.floor(random() * span);
      const reported = created - logNormal(600, 0.8) * SECOND;
      const decided = created + logNormal(300, 1) * SECOND;
      const rejected = random() < 0.15;
      const view = caseView(`SP-L-${i}`, {
        reportedAt: iso(reported),
        createdAt: iso(created),
        approvedAt: rejected ? null : iso(decided),
        rejectedAt: rejected ? iso(decided) : null,
        firstStopAt: rejected ? null : iso(decided + logNormal(90, 1) * SECOND),
        requestedFen: Math.floor(random() * 80_000_000),
        stoppedFen: rejected ? 0 : Math.floor(random() * 1_000_000),
        frozenFen: random() < 0.3 ? Math.floor(random() * 500_000) : 0,
        major: random() < 0.1,
      });
      tasks.push(async () => {
        await projectStopPaymentBatch(stack.database.db, batch({ ...view, approvedAt: null, firstStopAt: null }, 1));
        await projectStopPaymentBatch(
          stack.database.db,
          batch(view, 3, rejected ? [] : [breach(2, iso(created + 300 * SECOND), 'approval', 1)]),
        );
      });
    }
    await inParallel(tasks, 6);

    // Partial hours at both ends, whole days, and the whole month of April between them.
    const from = new Date('2026-03-23T10:17:23.456Z');
    const to = new Date('2026-05-19T15:42:10.001Z');
    const rolledUp = await stats(from.toISOString(), to.toISOString());
    const exact = await createStatsService(stack.database.db).computeExactly(from, to);

    expect(rolledUp.alerts.received).toBeGreaterThan(400);
    expect(rolledUp.alerts.closedByOutcome.dissuaded).toBeGreaterThan(100);
    const durations = (figures: Record<string, unknown>) =>
      Object.keys(figures).filter((name) => name.endsWith('Seconds'));
    const withoutDurations = (figures: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(figures).filter(([name]) => !name.endsWith('Seconds')));
    expect(withoutDurations(rolledUp.alerts)).toEqual(withoutDurations(exact.alerts));
    expect(withoutDurations(rolledUp.stopPayments)).toEqual(withoutDurations(exact.stopPayments));
    expect(rolledUp.breakdown).toEqual(exact.breakdown);
    for (const [part, name] of [
      ...durations(exact.alerts).map((name) => ['alerts', name] as const),
      ...durations(exact.stopPayments).map((name) => ['stopPayments', name] as const),
    ]) {
      const exactDuration = (exact[part] as unknown as Record<string, { median: number | null; p90: number | null }>)[
        name
      ]!;
      expect(exactDuration.median, `${part}.${name}`).not.toBeNull();
      expectWithinSketchError(rolledUp[part][name].median, exactDuration.median);
      expectWithinSketchError(rolledUp[part][name].p90, exactDuration.p90);
    }
  });

  it('counts a retried projection once, and a stale one not at all', async () => {
    const receivedAt = '2025-02-10T08:20:00.000Z';
    const closed = alertView('R-1', {
      receivedAt,
      firstCallAt: '2025-02-10T08:21:30.000Z',
      closedAt: '2025-02-10T09:00:00.000Z',
      outcome: 'dissuaded',
      amountAtRiskFen: 12_345,
    });
    const latest: AlertRecordBatch = batch(closed, 5, [breach(4, '2025-02-10T08:25:00.000Z', 'claim', 1)]);
    await projectAlertBatch(stack.database.db, latest);
    // The activity retried after a lost answer (or the history replayed): the same batch again.
    await projectAlertBatch(stack.database.db, latest);
    // An older view arriving late: refused by the row's seq, so it moves nothing back.
    await projectAlertBatch(stack.database.db, batch(alertView('R-1', { receivedAt }), 1));

    const month = await stats('2025-02-01T00:00:00Z', '2025-03-01T00:00:00Z');
    expect(month.alerts).toMatchObject({
      received: 1,
      closed: 1,
      dissuaded: 1,
      preventedLossFen: 12_345,
      deadlineBreaches: { claim: 1, call: 0, visit: 0, approval: 0, total: 1, escalatedToCenterHead: 0 },
    });
    expectWithinSketchError(month.alerts.receiptToFirstCallSeconds.median, 90);
    expect(month.breakdown.byRiskLevel).toEqual([{ key: 'high', received: 1, dissuaded: 1, preventedLossFen: 12_345 }]);
  });

  it('moves an alert’s contributions as it moves: received once, its outcome in the hour it closed', async () => {
    const receivedAt = '2025-04-10T08:20:00.000Z';
    const project = (seq: number, o: Parameters<typeof alertView>[1]) =>
      projectAlertBatch(stack.database.db, batch(alertView('M-1', o), seq));
    const month = () => stats('2025-04-01T00:00:00Z', '2025-05-01T00:00:00Z');

    await project(1, { receivedAt, fraudType: 'loan' });
    expect((await month()).alerts).toMatchObject({
      received: 1,
      closed: 0,
      receiptToFirstCallSeconds: { median: null },
    });

    await project(2, { receivedAt, fraudType: 'loan', firstCallAt: '2025-04-10T08:22:00.000Z' });
    const calling = await month();
    expect(calling.alerts).toMatchObject({ received: 1, closed: 0 });
    expectWithinSketchError(calling.alerts.receiptToFirstCallSeconds.median, 120);

    const closing = {
      receivedAt,
      fraudType: 'loan' as const,
      firstCallAt: '2025-04-10T08:22:00.000Z',
      closedAt: '2025-04-12T09:30:00.000Z',
      outcome: 'dissuaded' as const,
      amountAtRiskFen: 70_000,
    };
    await project(3, closing);
    const closed = await month();
    expect(closed.alerts).toMatchObject({ received: 1, closed: 1, dissuaded: 1, preventedLossFen: 70_000 });
    expectWithinSketchError(closed.alerts.receiptToFirstCallSeconds.median, 120);
    expectWithinSketchError(closed.alerts.receiptToCloseSeconds.median, 2 * 86_400 + 70 * 60);
    expect(closed.breakdown.byFraudType).toEqual([
      { key: 'loan', received: 1, dissuaded: 1, preventedLossFen: 70_000 },
    ]);

    // Received in the days before the 11th, closed in the days after it.
    const before = await stats('2025-04-06T00:00:00Z', '2025-04-11T00:00:00Z');
    expect(before.alerts).toMatchObject({ received: 1, closed: 0, dissuaded: 0 });
    const after = await stats('2025-04-11T00:00:00Z', '2025-04-15T00:00:00Z');
    expect(after.alerts).toMatchObject({ received: 0, closed: 1, dissuaded: 1, preventedLossFen: 70_000 });

    // A correction (the same alert, a later step): the outcome moves, not adds.
    await project(4, { ...closing, outcome: 'false_positive' });
    const corrected = await month();
    expect(corrected.alerts).toMatchObject({ received: 1, closed: 1, dissuaded: 0, preventedLossFen: 0 });
    expect(corrected.alerts.closedByOutcome).toMatchObject({ dissuaded: 0, false_positive: 1 });
  });

  it('lets concurrent projections of one hour pass each other, and counts them all', async () => {
    const hour = '2025-06-15T10';
    const view = (i: number) =>
      alertView(`H-${i}`, { receivedAt: `${hour}:${String(i % 60).padStart(2, '0')}:00.000Z` });
    // The hour's rollup rows exist (an alert of it projected earlier); then one projection holds its
    // transaction open after writing its alert …
    await projectAlertBatch(stack.database.db, batch(view(0), 1));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let written!: () => void;
    const wrote = new Promise<void>((resolve) => (written = resolve));
    const holding = stack.database.db.transaction(async (tx) => {
      await tx.insert(alerts).values(alertRow(view(1), 1));
      written();
      await held;
    });
    await wrote;
    // … and the others of that hour go through meanwhile: none waits on the rollup rows it holds.
    const others = Promise.all(
      Array.from({ length: 40 }, (_, i) => projectAlertBatch(stack.database.db, batch(view(i + 2), 1))),
    );
    const outcome = await Promise.race([
      others.then(() => 'passed'),
      new Promise((resolve) => setTimeout(() => resolve('waited'), 15_000)),
    ]);
    release();
    await holding;
    await others;
    expect(outcome).toBe('passed');

    const week = await stats('2025-06-12T00:00:00Z', '2025-06-19T00:00:00Z');
    expect(week.alerts.received).toBe(42);
    expect(week.breakdown.byStation).toEqual([{ key: 'st-1', received: 42, dissuaded: 0, preventedLossFen: 0 }]);
  });

  it('rebuilds from the rows (the migration’s backfill) exactly what the projections built', async () => {
    const { kept, rebuilt } = await keptAndRebuiltRollups(stack.database.db);
    expect(kept.length).toBeGreaterThan(1000);
    expect(kept).toEqual(rebuilt);
  });
});
