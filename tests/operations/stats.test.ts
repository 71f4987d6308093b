/** Statistics over a read model with known answers: every figure is checked. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, caseEvents, stopPayments } from '#db/schema.js';
import { RISK_RANK, type RiskLevel } from '#domain/alert.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let supervisor: Caller, auditor: Caller, operator: Caller;

const t = (iso: string) => new Date(iso);
const plus = (iso: string, seconds: number) => new Date(Date.parse(iso) + seconds * 1000);

function alert(
  id: string,
  receivedAt: string,
  o: {
    call?: number;
    close?: number;
    outcome?: string;
    amount?: number;
    fraud?: string;
    station?: string;
    risk?: RiskLevel;
  } = {},
) {
  const risk = o.risk ?? 'high';
  return {
    alertId: id,
    workflowId: `alert-${id}`,
    state: o.close !== undefined ? 'closed' : o.call !== undefined ? 'calling' : 'queued',
    outcome: o.outcome ?? null,
    riskLevel: risk,
    riskRank: RISK_RANK[risk],
    fraudType: o.fraud ?? 'investment',
    stationId: o.station ?? 'st1',
    source: 'ministry',
    issuedAt: t(receivedAt),
    receivedAt: t(receivedAt),
    victimPhone: '13800000000',
    firstCallAt: o.call !== undefined ? plus(receivedAt, o.call) : null,
    closedAt: o.close !== undefined ? plus(receivedAt, o.close) : null,
    amountAtRiskFen: o.amount ?? null,
    seq: 1,
    detail: {},
  };
}

function stopPayment(
  id: string,
  o: {
    created: string;
    reported: string;
    approved?: string;
    rejected?: string;
    firstStop?: string;
    requested: number;
    stopped?: number;
    frozen?: number;
    major?: boolean;
  },
) {
  return {
    stopPaymentId: id,
    workflowId: `stoppay-${id}`,
    state: o.rejected ? 'rejected' : o.approved ? 'active' : 'pending_approval',
    createdById: 'u1',
    createdByName: 'x',
    reportedAt: t(o.reported),
    createdAt: t(o.created),
    approvedAt: o.approved ? t(o.approved) : null,
    rejectedAt: o.rejected ? t(o.rejected) : null,
    firstStopAt: o.firstStop ? t(o.firstStop) : null,
    requestedFen: o.requested,
    stoppedFen: o.stopped ?? 0,
    frozenFen: o.frozen ?? 0,
    major: o.major ?? false,
    victimPhone: '13800000000',
    seq: 1,
    detail: {},
  };
}

let eventSeq = 0;
const breach = (at: string, deadline: string, level: number) => ({
  workflowId: `wf-${++eventSeq}`,
  seq: 1,
  caseType: deadline === 'approval' ? 'stop_payment' : 'alert',
  caseId: `c-${eventSeq}`,
  at: t(at),
  kind: 'deadline_missed',
  detail: { deadline, level },
});

beforeAll(async () => {
  stack = await startStack({ worker: false });
  supervisor = await stack.user(['supervisor']);
  auditor = await stack.user(['auditor']);
  operator = await stack.user(['operator']);
  const db = stack.database.db;
  await db.insert(alerts).values([
    alert('A1', '2026-01-10T01:00:00Z', {
      call: 60,
      close: 600,
      outcome: 'dissuaded',
      amount: 100_000,
      fraud: 'investment',
      station: 'st1',
      risk: 'high',
    }),
    alert('A2', '2026-01-10T02:00:00Z', {
      call: 120,
      close: 1200,
      outcome: 'dissuaded',
      amount: 300_000,
      fraud: 'investment',
      station: 'st2',
      risk: 'high',
    }),
    alert('A3', '2026-01-10T03:00:00Z', {
      call: 180,
      close: 1800,
      outcome: 'false_positive',
      fraud: 'loan',
      station: 'st1',
      risk: 'medium',
    }),
    alert('A4', '2026-01-10T04:00:00Z', { call: 240, fraud: 'loan', station: 'st1', risk: 'low' }),
    alert('A5', '2026-01-10T05:00:00Z', { fraud: 'romance', station: 'st2', risk: 'medium' }),
    // Received the day before; B1 closes inside the period.
    alert('B1', '2026-01-09T10:00:00Z', { call: 30, close: 14 * 3600 + 1800, outcome: 'defrauded', amount: 50_000 }),
    alert('B2', '2026-01-09T11:00:00Z'),
    // Exactly at `to`: the next period.
    alert('C1', '2026-01-11T00:00:00Z'),
  ]);
  await db
    .insert(caseEvents)
    .values([
      breach('2026-01-10T01:03:00Z', 'claim', 1),
      breach('2026-01-10T06:00:00Z', 'claim', 1),
      breach('2026-01-10T06:05:00Z', 'claim', 2),
      breach('2026-01-10T07:00:00Z', 'call', 1),
      breach('2026-01-10T08:00:00Z', 'visit', 1),
      breach('2026-01-10T09:00:00Z', 'approval', 1),
      breach('2026-01-09T09:00:00Z', 'claim', 1),
    ]);
  const cases = [
    stopPayment('S1', {
      created: '2026-01-10T01:00:00Z',
      reported: '2026-01-10T00:50:00Z',
      approved: '2026-01-10T01:05:00Z',
      firstStop: '2026-01-10T01:06:00Z',
      requested: 1_000_000,
      stopped: 800_000,
      frozen: 500_000,
    }),
    stopPayment('S2', {
      created: '2026-01-10T02:00:00Z',
      reported: '2026-01-10T01:40:00Z',
      approved: '2026-01-10T02:30:00Z',
      firstStop: '2026-01-10T02:31:00Z',
      requested: 60_000_000,
      major: true,
    }),
    stopPayment('S3', {
      created: '2026-01-10T03:00:00Z',
      reported: '2026-01-10T02:55:00Z',
      rejected: '2026-01-10T03:10:00Z',
      requested: 10_000,
    }),
    stopPayment('S4', {
      created: '2026-01-09T23:00:00Z',
      reported: '2026-01-09T22:50:00Z',
      approved: '2026-01-10T00:10:00Z',
      firstStop: '2026-01-10T00:11:00Z',
      requested: 2_000_000,
      stopped: 2_000_000,
    }),
  ];
  await db.insert(stopPayments).values(cases);
});
afterAll(() => stack?.close());

const stats = async (caller: Caller, query: string) =>
  stack.request(caller, { method: 'GET', url: `/v1/stats${query}` });

describe('statistics', () => {
  it('answers every figure of a known day', async () => {
    const response = await stats(supervisor, '?from=2026-01-10T00:00:00Z&to=2026-01-11T00:00:00Z');
    expect(response.statusCode).toBe(200);
    const body = response.json();
    expect(body.alerts).toEqual({
      received: 5,
      closed: 4,
      closedByOutcome: { dissuaded: 2, defrauded: 1, false_positive: 1, unreachable: 0, cancelled: 0 },
      dissuaded: 2,
      preventedLossFen: 400_000,
      deadlineBreaches: { claim: 2, call: 1, visit: 1, approval: 1, total: 5, escalatedToCenterHead: 1 },
      receiptToFirstCallSeconds: { median: 150, p90: 222 },
      receiptToCloseSeconds: { median: 1200, p90: 1680 },
      previousPeriodReceived: 2,
      receivedChangePercent: 150,
    });
    expect(body.stopPayments).toEqual({
      requested: 3,
      approved: 3,
      rejected: 1,
      majorCases: 1,
      requestedFen: 61_010_000,
      stoppedFen: 800_000,
      frozenFen: 500_000,
      reportToApprovalSeconds: { median: 3000, p90: 4440 },
      reportToFirstStopSeconds: { median: 3060, p90: 4500 },
    });
    expect(body.breakdown.byFraudType).toEqual([
      { key: 'investment', received: 2, dissuaded: 2, preventedLossFen: 400_000 },
      { key: 'loan', received: 2, dissuaded: 0, preventedLossFen: 0 },
      { key: 'romance', received: 1, dissuaded: 0, preventedLossFen: 0 },
    ]);
    expect(body.breakdown.byStation).toEqual([
      { key: 'st1', received: 3, dissuaded: 1, preventedLossFen: 100_000 },
      { key: 'st2', received: 2, dissuaded: 1, preventedLossFen: 300_000 },
    ]);
    expect(body.breakdown.byRiskLevel).toEqual([
      { key: 'high', received: 2, dissuaded: 2, preventedLossFen: 400_000 },
      { key: 'medium', received: 2, dissuaded: 0, preventedLossFen: 0 },
      { key: 'low', received: 1, dissuaded: 0, preventedLossFen: 0 },
    ]);
  });

  it('computes a fall against the previous period, and answers an empty period with zeros', async () => {
    const next = (await stats(auditor, '?from=2026-01-11T00:00:00Z&to=2026-01-12T00:00:00Z')).json();
    expect(next.alerts.received).toBe(1);
    expect(next.alerts.previousPeriodReceived).toBe(5);
    expect(next.alerts.receivedChangePercent).toBe(-80);

    const empty = (await stats(supervisor, '?from=2025-06-01T00:00:00Z&to=2025-06-02T00:00:00Z')).json();
    expect(empty.alerts).toMatchObject({
      received: 0,
      closed: 0,
      dissuaded: 0,
      preventedLossFen: 0,
      receivedChangePercent: null,
    });
    expect(empty.alerts.receiptToFirstCallSeconds).toEqual({ median: null, p90: null });
    expect(empty.stopPayments).toMatchObject({
      requested: 0,
      approved: 0,
      stoppedFen: 0,
      reportToApprovalSeconds: { median: null, p90: null },
    });
    expect(empty.breakdown.byFraudType).toEqual([]);
  });

  it('refuses a period that ends before it starts, and roles that may not see it', async () => {
    const backwards = await stats(supervisor, '?from=2026-01-11T00:00:00Z&to=2026-01-10T00:00:00Z');
    expect(backwards.statusCode).toBe(400);
    expect(backwards.json().errors[0].pointer).toBe('/from');
    expect((await stats(supervisor, '?from=yesterday')).statusCode).toBe(400);
    // A period has a sane range: not before 2000, not more than a day ahead.
    const ancient = await stats(supervisor, '?from=1999-12-31T00:00:00Z&to=2000-01-02T00:00:00Z');
    expect(ancient.statusCode).toBe(400);
    expect(ancient.json().errors[0]).toMatchObject({ pointer: '/from', in: 'querystring' });
    const ahead = new Date(Date.now() + 3 * 86_400_000).toISOString();
    const future = await stats(supervisor, `?to=${encodeURIComponent(ahead)}`);
    expect(future.statusCode).toBe(400);
    expect(future.json().errors[0]).toMatchObject({ pointer: '/to', in: 'querystring' });
    expect((await stats(operator, '')).statusCode).toBe(403);
  });
});
