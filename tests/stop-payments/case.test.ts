/** A stop-payment case from the 110 desk to money held at the banks, following the money onward. */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts as alertRows, auditAccessLog, notifications } from '#db/schema.js';
import { alertWorkflowId, type AlertView } from '#domain/alert.js';
import { projectAlertBatch } from '#read-model/alerts.js';
import { latestWorkflowView } from '#read-model/workflow-view.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { approveUpdate } from '#workflows/messages.js';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import {
  account,
  bankSimulator,
  caseWhen,
  expectTotalsConsistent,
  newFiling,
  stopPaymentApi,
} from '../helpers/stop-payments.js';

let stack: Stack;
let api: ReturnType<typeof stopPaymentApi>;
let bank: ReturnType<typeof bankSimulator>;
let calltaker: Caller, approver: Caller, approver2: Caller, senior: Caller, supervisor: Caller, platform: Caller;

beforeAll(async () => {
  stack = await startStack({
    policy: {
      stopPayment: { approvalSla: '1s', stopValidity: '10m', majorCaseThresholdFen: 50_000_000, maxOnwardLevels: 3 },
    },
  });
  api = stopPaymentApi(stack);
  bank = bankSimulator(stack);
  calltaker = await stack.user(['calltaker'], { name: '110接警员' });
  approver = await stack.user(['approver'], { name: '审批员甲' });
  approver2 = await stack.user(['approver', 'calltaker'], { name: '审批员乙' });
  senior = await stack.user(['senior_approver']);
  supervisor = await stack.user(['supervisor']);
  platform = await stack.user(['platform']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

async function filed(filing = newFiling(), by = calltaker) {
  const response = await api.file(by, filing);
  expect(response.statusCode).toBe(201);
  expect(response.json().state).toBe('pending_approval');
  return response.json().stopPaymentId as string;
}

describe('filing and approval', () => {
  it('approves, stops every receiving account with the amounts the bank holds, and keeps totals equal to the holds', async () => {
    const [a, b] = [account(), account()];
    await bank.seed({ bank: 'ICBC', account: a, balanceFen: 10_000_000 });
    await bank.seed({ bank: 'CCB', account: b, balanceFen: 1_000_000 });
    const id = await filed(
      newFiling([
        { bank: 'ICBC', account: a, amountFen: 3_000_000 },
        { bank: 'CCB', account: b, amountFen: 2_500_000 },
      ]),
    );

    const approved = await api.approve(approver, id, { note: '情况属实' });
    expect(approved.statusCode).toBe(200);
    expect(approved.json()).toMatchObject({
      state: 'active',
      approvedBy: { userId: approver.user.userId, name: '审批员甲' },
      deadline: null,
    });
    expect(approved.json().holds).toHaveLength(2);

    const view = await caseWhen(stack, id, (v) => v.holds.every((h) => h.state !== 'submitting'));
    const byAccount = Object.fromEntries(view.holds.map((h) => [h.account, h]));
    expect(byAccount[a]).toMatchObject({ state: 'stopped', requestedFen: 3_000_000, stoppedFen: 3_000_000, level: 1 });
    expect(byAccount[b]).toMatchObject({ state: 'stopped', requestedFen: 2_500_000, stoppedFen: 1_000_000 });
    expect(byAccount[a]!.expiresAt).not.toBeNull();
    expect(view).toMatchObject({ requestedFen: 5_500_000, stoppedFen: 4_000_000, frozenFen: 0 });
    expect(view.firstStopAt).not.toBeNull();
    expectTotalsConsistent(view);

    const detail = (await api.get(supervisor, id)).json();
    expect(detail.timeline.map((e: { kind: string }) => e.kind).slice(0, 3)).toEqual([
      'filed',
      'approved',
      'holds_started',
    ]);
    expect(detail.timeline[0].actor).toEqual({ userId: calltaker.user.userId, role: 'calltaker' });
    expect(detail.timeline[1].actor).toEqual({ userId: approver.user.userId, role: 'approver' });
  });

  it('follows the money through a two-level onward chain, under the original approval', async () => {
    const [first, second, third] = [account(), account(), account()];
    await bank.seed({
      bank: 'ICBC',
      account: first,
      balanceFen: 1_000_000,
      onward: [{ bank: 'ABC', account: second, amountFen: 2_000_000 }],
    });
    await bank.seed({
      bank: 'ABC',
      account: second,
      balanceFen: 500_000,
      onward: [{ bank: 'BOC', account: third, amountFen: 1_500_000 }],
    });
    await bank.seed({ bank: 'BOC', account: third, balanceFen: 1_500_000 });
    const id = await filed(newFiling([{ bank: 'ICBC', account: first, amountFen: 3_000_000 }]));
    await api.approve(approver, id);

    const view = await caseWhen(
      stack,
      id,
      (v) => v.holds.length === 3 && v.holds.every((h) => h.state !== 'submitting'),
      'three holds',
    );
    const levels = view.holds.map((h) => [h.level, h.bank, h.account, h.state, h.stoppedFen, h.parentHoldId]);
    expect(levels).toEqual([
      [1, 'ICBC', first, 'stopped', 1_000_000, null],
      [2, 'ABC', second, 'stopped', 500_000, view.holds[0]!.holdId],
      [3, 'BOC', third, 'stopped', 1_500_000, view.holds[1]!.holdId],
    ]);
    expectTotalsConsistent(view);
    expect(view.timeline.filter((e) => e.kind === 'onward_found')).toHaveLength(2);
    expect(view.approvedBy?.userId).toBe(approver.user.userId);
  });

  it('records partial, empty and not-found accounts; an empty account still leads onward', async () => {
    const [partial, empty, missing, onward] = [account(), account(), account(), account()];
    await bank.seed({ bank: 'ICBC', account: partial, balanceFen: 100_000 });
    await bank.seed({
      bank: 'ICBC',
      account: empty,
      balanceFen: 0,
      onward: [{ bank: 'CMB', account: onward, amountFen: 700_000 }],
    });
    await bank.seed({ bank: 'ICBC', account: missing, balanceFen: 0, exists: false });
    const id = await filed(
      newFiling([
        { account: partial, amountFen: 900_000 },
        { account: empty, amountFen: 700_000 },
        { account: missing, amountFen: 100_000 },
      ]),
    );
    await api.approve(approver, id);
    const view = await caseWhen(
      stack,
      id,
      (v) => v.holds.length === 4 && v.holds.every((h) => h.state !== 'submitting'),
    );
    const state = Object.fromEntries(view.holds.map((h) => [h.account, [h.state, h.stoppedFen]]));
    expect(state[partial]).toEqual(['stopped', 100_000]);
    expect(state[empty]).toEqual(['empty', 0]);
    expect(state[missing]).toEqual(['failed', 0]);
    expect(state[onward]).toEqual(['stopped', 700_000]);
    expectTotalsConsistent(view);
  });

  it('rides out a failing gateway: holds end stopped and the bank sees one effect per instruction', async () => {
    const accounts = [account(), account()];
    for (const a of accounts) await bank.seed({ bank: 'ICBC', account: a, balanceFen: 5_000_000 });
    const id = await filed(newFiling(accounts.map((a) => ({ account: a, amountFen: 1_000_000 }))));
    expect((await bank.faults({ failNext: 3 })).statusCode).toBeLessThan(300);
    await api.approve(approver, id);
    const view = await caseWhen(
      stack,
      id,
      (v) => v.holds.every((h) => h.state === 'stopped'),
      'holds stopped after the outage',
      60_000,
    );
    expect(view.holds.map((h) => h.stoppedFen)).toEqual([1_000_000, 1_000_000]);
    const ledger = (await bank.ledger()).filter((e) => accounts.includes(e.account));
    expect(ledger.filter((e) => e.outcome === 'failed').length).toBeGreaterThan(0);
    const applied = ledger.filter((e) => e.outcome === 'applied');
    expect(applied).toHaveLength(2);
    expect(new Set(applied.map((e) => e.instructionId)).size).toBe(2);
  });

  it('refuses approval by the call-taker who filed the case (separation of duties)', async () => {
    const id = await filed(newFiling(), approver2);
    const own = await api.approve(approver2, id);
    expect(own.statusCode).toBe(403);
    expect(own.json().code).toBe('separation_of_duties');
    expect((await api.get(supervisor, id)).json().state).toBe('pending_approval');
    expect((await api.approve(approver, id)).statusCode).toBe(200);
    const twice = await api.approve(approver, id);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('invalid_transition');
  });

  it('rejects only with a reason, and a rejected case takes no approval', async () => {
    const id = await filed();
    const noReason = await api.reject(approver, id, {});
    expect(noReason.statusCode).toBe(400);
    expect(noReason.json().errors[0].pointer).toBe('/reason');
    const blank = await api.reject(approver, id, { reason: '   ' });
    expect(blank.statusCode).toBe(400);
    const rejected = await api.reject(approver, id, { reason: '报案信息不实' });
    expect(rejected.statusCode).toBe(200);
    expect(rejected.json()).toMatchObject({ state: 'rejected', holds: [] });
    expect((await api.approve(approver, id)).statusCode).toBe(409);
    await waitFor(
      'the rejected case in the read model',
      async () => (await api.get(supervisor, id)).json().state === 'rejected',
    );
  });

  it('escalates a late approval twice and never approves on its own', async () => {
    const id = await filed();
    const view = await caseWhen(stack, id, (v) => v.escalationLevel === 2, 'approval escalation level 2');
    expect(view.state).toBe('pending_approval');
    expect(
      view.timeline.filter((e) => e.kind === 'deadline_missed').map((e) => [e.detail.level, e.detail.notified]),
    ).toEqual([
      [1, 'supervisor'],
      [2, 'center_head'],
    ]);
    const rows = await waitFor('outbox rows', async () => {
      const r = await stack.database.db
        .select()
        .from(notifications)
        .where(eq(notifications.caseId, id))
        .orderBy(notifications.id);
      return r.length >= 2 ? r : undefined;
    });
    expect(rows.map((r) => [r.recipientRole, r.kind])).toEqual([
      ['supervisor', 'approval_overdue'],
      ['center_head', 'approval_overdue'],
    ]);
    expect((await api.approve(approver, id)).json().state).toBe('active');
  });

  it('counts a late approval as a missed deadline, though it lands in the same workflow task as the deadline', async () => {
    const id = await filed();
    await waitFor('the filing projected', async () => (await api.get(supervisor, id)).statusCode === 200);
    await stack.stopWorker();
    let approving: Promise<unknown> | undefined;
    try {
      // The 1 s approval deadline passes with no worker, and the approval waits for one: the worker
      // that comes back gets both in one workflow task, where the approval is handled first.
      await new Promise((r) => setTimeout(r, 1_400));
      const actor = { userId: approver.user.userId, name: approver.user.name, role: 'approver' as const };
      approving = stack.client.workflow
        .getHandle(`stoppay-${id}`)
        .executeUpdate(approveUpdate, { args: [{ actor }], updateId: `late-${id}` });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await stack.startWorker();
    }
    await approving;
    const view = (await api.get(supervisor, id)).json() as StopPaymentView;
    const kinds = view.timeline.map((e) => (e.kind === 'deadline_missed' ? `missed ${e.detail.level}` : e.kind));
    expect(kinds.slice(0, 2)).toEqual(['filed', 'missed 1']);
    expect(kinds.indexOf('approved')).toBeGreaterThan(1);
    expect(kinds.slice(2, kinds.indexOf('approved')).every((k) => k === 'missed 2')).toBe(true);
    expect(view.state).toBe('active');
  });

  it('flags a major case and tells the criminal squad', async () => {
    const id = await filed(newFiling([{ amountFen: 30_000_000 }, { amountFen: 20_000_000 }]));
    const view = (await api.get(supervisor, id)).json();
    expect(view.major).toBe(true);
    const rows = await waitFor('criminal squad notified', async () => {
      const r = await stack.database.db.select().from(notifications).where(eq(notifications.caseId, id));
      return r.some((n) => n.recipientRole === 'criminal_squad') ? r : undefined;
    });
    expect(rows.find((n) => n.kind === 'major_case')?.message).toContain(id);
    const small = await filed(newFiling([{ amountFen: 49_999_999 }]));
    expect((await api.get(supervisor, small)).json().major).toBe(false);
  });

  it('closes the case only when every hold is final: releasing one hold leaves it active, releasing the rest closes it', async () => {
    const accounts = [account(), account()];
    const id = await filed(newFiling(accounts.map((a) => ({ account: a, amountFen: 200_000 }))));
    await api.approve(approver, id);
    const active = await caseWhen(stack, id, (v) => v.holds.every((h) => h.state === 'stopped'));
    const [first, second] = active.holds;

    const one = await api.release(senior, id, { reason: '被害人撤案', holdIds: [first!.holdId] });
    expect(one.statusCode).toBe(200);
    expect(one.json().state).toBe('active');
    expect(one.json().holds.find((h: { holdId: string }) => h.holdId === first!.holdId).state).toBe('released');

    const again = await api.release(senior, id, { reason: 'again', holdIds: [first!.holdId] });
    expect(again.statusCode).toBe(409);

    const rest = await api.release(senior, id, { reason: '资金已返还' });
    expect(rest.statusCode).toBe(200);
    const closed = await caseWhen(stack, id, (v) => v.state === 'closed', 'the case to close');
    expect(closed.holds.map((h) => h.state)).toEqual(['released', 'released']);
    expect(closed.holds.find((h) => h.holdId === second!.holdId)?.state).toBe('released');
    expectTotalsConsistent(closed);
    const ledger = (await bank.ledger()).filter(
      (e) => accounts.includes(e.account) && e.action === 'releases' && e.outcome === 'applied',
    );
    expect(ledger).toHaveLength(2);
  });
});

describe('reading a case', () => {
  it('shows a running case, as its workflow last said, while no worker runs (reading never asks a worker)', async () => {
    const acct = account();
    await bank.seed({ bank: 'ICBC', account: acct, balanceFen: 10_000_000 });
    const id = await filed(newFiling([{ bank: 'ICBC', account: acct, amountFen: 3_000_000 }]));
    expect((await api.approve(approver, id)).statusCode).toBe(200);
    await caseWhen(stack, id, (v) => v.holds.every((h) => h.state === 'stopped'));
    await waitFor('the stop shown', async () => (await api.get(supervisor, id)).json().holds[0]?.state === 'stopped');
    await stack.stopWorker();
    try {
      const shown = await api.get(supervisor, id);
      expect(shown.statusCode).toBe(200);
      expect(shown.json()).toMatchObject({
        state: 'active',
        stoppedFen: 3_000_000,
        holds: [{ account: acct, state: 'stopped' }],
      });
    } finally {
      await stack.startWorker();
    }
  });
});

describe('linked alerts', () => {
  it('links the alert a case came from, whether the alert is still open or already closed', async () => {
    const operator = await stack.user(['operator']);
    const alerts = alertApi(stack);
    const open = newAlert();
    const closed = newAlert();
    for (const alert of [open, closed]) await alerts.ingest(platform, alert);
    await alerts.claim(operator, closed.alertId);
    await alerts.callResult(operator, closed.alertId, {
      result: 'contacted',
      outcome: 'already_defrauded',
      amountAtRiskFen: 3_000_000,
    });
    await readModelRow(stack, closed.alertId, (r) => r.state === 'closed');

    const forOpen = await filed(newFiling([{}], { alertId: open.alertId }));
    const forClosed = await filed(newFiling([{}], { alertId: closed.alertId }));
    await waitFor(
      'open alert linked',
      async () => (await alerts.get(supervisor, open.alertId)).json().stopPaymentId === forOpen,
    );
    await waitFor(
      'closed alert linked',
      async () => (await alerts.get(supervisor, closed.alertId)).json().stopPaymentId === forClosed,
    );
    expect((await api.get(supervisor, forClosed)).json().alertId).toBe(closed.alertId);
  });
});

describe('one case per alert', () => {
  it('keeps an alert reserved for the case filed from it while the alert projects a view that does not name the case yet', async () => {
    const alert = newAlert();
    await alertApi(stack).ingest(platform, alert);
    const before = await readModelRow(stack, alert.alertId);
    await stack.stopWorker();
    try {
      // The case is filed (its workflow waits for a worker, so the alert has not heard of it) …
      const first = await api.file(calltaker, newFiling([{}], { alertId: alert.alertId }));
      expect(first.statusCode).toBe(201);
      // … and the alert projects its next view meanwhile, as a repeated push would: no case in it.
      const [row] = await stack.database.db.select().from(alertRows).where(eq(alertRows.alertId, alert.alertId));
      await projectAlertBatch(stack.database.db, {
        view: { ...(row!.detail as AlertView), stopPaymentId: null },
        seq: before.seq + 1,
        events: [],
        notifications: [],
      });
      const second = await api.file(calltaker, newFiling([{}], { alertId: alert.alertId }));
      expect(second.statusCode).toBe(409);
      expect(second.json().detail).toContain(first.json().stopPaymentId);
    } finally {
      await stack.startWorker();
    }
    // Back on a worker, the alert hears of its case and projects it over the forged view (the same seq
    // or a later one): the row ends as the workflow's own, which the file's reconciliation checks.
    const linked = await waitFor('the alert projects its case', async () => {
      const latest = await latestWorkflowView<AlertView>(stack.client, alertWorkflowId(alert.alertId), {
        stepsAfter: 0,
      });
      return latest?.view?.stopPaymentId ? latest : undefined;
    });
    const seq = linked.steps.at(-1)?.seq ?? linked.startSeq;
    expect(seq).toBeGreaterThan(before.seq);
    await readModelRow(stack, alert.alertId, (r) => r.seq === seq && r.stopPaymentId === linked.view!.stopPaymentId);
  });

  it('links an alert only by its exact ID, refuses one already linked to another case, and never changes a closed alert’s outcome', async () => {
    const operator = await stack.user(['operator']);
    const alerts = alertApi(stack);
    const alert = newAlert();
    await alerts.ingest(platform, alert);
    await alerts.claim(operator, alert.alertId);
    await alerts.callResult(operator, alert.alertId, { result: 'contacted', outcome: 'already_defrauded' });
    await readModelRow(stack, alert.alertId, (r) => r.state === 'closed');

    for (const alertId of [alert.alertId.slice(0, -1), `${alert.alertId}0`, 'MPS-nowhere']) {
      const unknown = await api.file(calltaker, newFiling([{}], { alertId }));
      expect(unknown.statusCode, alertId).toBe(400);
      expect(unknown.json().errors[0].pointer).toBe('/alertId');
    }
    // Two filings at once for one alert: one case.
    const both = await Promise.all([1, 2].map(() => api.file(calltaker, newFiling([{}], { alertId: alert.alertId }))));
    expect(both.map((r) => r.statusCode).sort()).toEqual([201, 409]);
    const refused = both.find((r) => r.statusCode === 409)!.json();
    const filedId = both.find((r) => r.statusCode === 201)!.json().stopPaymentId;
    expect(refused).toMatchObject({ code: 'conflict' });
    expect(refused.detail).toContain(filedId);
    const later = await api.file(calltaker, newFiling([{}], { alertId: alert.alertId }));
    expect(later.statusCode).toBe(409);

    const linked = await waitFor('the alert linked', async () => {
      const shown = (await alerts.get(supervisor, alert.alertId)).json();
      return shown.stopPaymentId === filedId ? shown : undefined;
    });
    expect(linked).toMatchObject({ state: 'closed', outcome: 'defrauded' });
    expect(await readModelRow(stack, alert.alertId)).toMatchObject({ state: 'closed', outcome: 'defrauded' });
  });
});

describe('access', () => {
  it('applies the roles of API.md, scopes call-takers to their own cases and masks the phone except for the filer', async () => {
    const id = await filed();
    expect((await api.file(approver, newFiling())).statusCode).toBe(403);
    expect((await api.approve(senior, id)).statusCode).toBe(403);
    expect((await api.approve(calltaker, id)).statusCode).toBe(403);
    expect((await api.get(platform, id)).statusCode).toBe(403);
    const other = await stack.user(['calltaker']);
    expect((await api.get(other, id)).statusCode).toBe(404);
    expect((await api.get(calltaker, id)).json().victim.phone).toBe('13812345678');
    for (const reader of [approver, senior, supervisor])
      expect((await api.get(reader, id)).json().victim.phone).toBe('138****5678');
    await waitFor('listed', async () =>
      (await api.list(calltaker)).json().items.some((c: { stopPaymentId: string }) => c.stopPaymentId === id),
    );
    const mine = (await api.list(calltaker, '?limit=200')).json().items;
    expect(mine.every((c: { createdBy: { userId: string } }) => c.createdBy.userId === calltaker.user.userId)).toBe(
      true,
    );
    expect((await api.list(other)).json().items).toEqual([]);
    const pending = (await api.list(supervisor, '?limit=200')).json().items;
    const firstNonPending = pending.findIndex((c: { state: string }) => c.state !== 'pending_approval');
    expect(pending.slice(firstNonPending).every((c: { state: string }) => c.state !== 'pending_approval')).toBe(true);
  });

  it('puts every read of a case (accounts whole, and to its filer the phone) on the access log', async () => {
    const id = await filed();
    for (const reader of [calltaker, approver, supervisor]) expect((await api.get(reader, id)).statusCode).toBe(200);
    const reads = await stack.database.db
      .select()
      .from(auditAccessLog)
      .where(eq(auditAccessLog.workflowId, `stoppay-${id}`));
    expect(reads.map((r) => [r.userId, r.action])).toEqual(
      [calltaker, approver, supervisor].map((c) => [c.user.userId, 'stop_payment_read']),
    );
  });

  it('validates filings: 1-50 transfers, account digits, amounts, and says which field', async () => {
    const cases: [unknown, string][] = [
      [{ ...newFiling(), transfers: [] }, '/transfers'],
      [{ ...newFiling(), transfers: Array.from({ length: 51 }, () => newFiling().transfers[0]) }, '/transfers'],
      [newFiling([{ account: '12ab5678' }]), '/transfers/0/account'],
      [newFiling([{ amountFen: 0 }]), '/transfers/0/amountFen'],
      [newFiling([{ amountFen: 10_000_000_000_001 }]), '/transfers/0/amountFen'],
      [newFiling([{ amountFen: 1.5 }]), '/transfers/0/amountFen'],
      [{ ...newFiling(), victim: { name: '张三', phone: '02012345678' } }, '/victim/phone'],
      // Dates have a sane range: not before 2000, not more than a day ahead.
      [newFiling([{}], { reportedAt: '1970-01-01T08:00:00+08:00' }), '/reportedAt'],
      [
        newFiling([{ transferredAt: new Date(Date.now() + 3 * 86_400_000).toISOString() }]),
        '/transfers/0/transferredAt',
      ],
    ];
    for (const [body, pointer] of cases) {
      const response = await api.file(calltaker, body as never);
      expect(response.statusCode, pointer).toBe(400);
      expect(response.json().errors.map((e: { pointer: string }) => e.pointer)).toContain(pointer);
    }
  });

  it('files a case once for a retried request with the same Idempotency-Key, even if the first answer was lost', async () => {
    const filing = newFiling();
    const key = { 'idempotency-key': `file-${filing.transfers[0]!.account}` };
    const first = await api.file(calltaker, filing, key);
    await stack.database.db.execute(`delete from idempotency_keys where key = '${key['idempotency-key']}'` as never);
    const second = await api.file(calltaker, filing, key);
    expect(second.statusCode).toBe(201);
    expect(second.json().stopPaymentId).toBe(first.json().stopPaymentId);
  });
});
