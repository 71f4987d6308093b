/** Every path of the alert state machine (DESIGN.md §4), through the API, on the real engine. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { visitResultUpdate } from '#workflows/messages.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let api: ReturnType<typeof alertApi>;
let platform: Caller, operator: Caller, officer: Caller, otherOfficer: Caller, supervisor: Caller;

beforeAll(async () => {
  // Deadlines far away (no escalation noise here); retries quick.
  stack = await startStack({
    policy: { alert: { retryDelay: { high: '200ms', medium: '200ms', low: '200ms' }, maxCallAttempts: 2 } },
  });
  api = alertApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator'], { name: '王接线员' });
  officer = await stack.user(['station'], { stationId: 'haibowan-01' });
  otherOfficer = await stack.user(['station'], { stationId: 'wuda-02' });
  supervisor = await stack.user(['supervisor']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

async function received(overrides = {}) {
  const alert = newAlert(overrides);
  const response = await api.ingest(platform, alert);
  expect(response.statusCode).toBe(201);
  expect(response.json()).toEqual({ alertId: alert.alertId, workflowId: `alert-${alert.alertId}`, state: 'queued' });
  return alert.alertId;
}

async function claimed(overrides = {}) {
  const alertId = await received(overrides);
  const claim = await api.claim(operator, alertId);
  expect(claim.statusCode).toBe(200);
  expect(claim.json()).toMatchObject({
    state: 'calling',
    assignee: { userId: operator.user.userId, name: '王接线员' },
  });
  return alertId;
}

async function notReachedUntilVisit(alertId: string) {
  for (let attempt = 1; attempt <= 2; attempt++) {
    if (attempt > 1) {
      await waitFor(
        'the retry to come back to the queue',
        async () => (await api.get(supervisor, alertId)).json().state === 'queued',
      );
      expect((await api.claim(operator, alertId)).statusCode).toBe(200);
    }
    const result = await api.callResult(operator, alertId, { result: 'not_reached', reason: 'no_answer' });
    expect(result.statusCode).toBe(200);
    expect(result.json().callAttempts).toBe(attempt);
    expect(result.json().state).toBe(attempt < 2 ? 'retry_wait' : 'visit_pending');
  }
}

describe('alert paths', () => {
  it('contacted and dissuaded: closed with the prevented loss, timeline naming the operator', async () => {
    const alertId = await claimed();
    const result = await api.callResult(operator, alertId, {
      result: 'contacted',
      outcome: 'dissuaded',
      amountAtRiskFen: 5_000_000,
      note: '已劝阻',
    });
    expect(result.statusCode).toBe(200);
    const view = result.json();
    expect(view).toMatchObject({
      state: 'closed',
      outcome: 'dissuaded',
      amountAtRiskFen: 5_000_000,
      callAttempts: 1,
      deadline: null,
    });
    expect(view.timeline.map((e: { kind: string }) => e.kind)).toEqual([
      'received',
      'claimed',
      'call_result',
      'closed',
    ]);
    expect(view.timeline[1].actor).toEqual({ userId: operator.user.userId, role: 'operator' });
    const row = await readModelRow(stack, alertId, (r) => r.state === 'closed');
    expect(row).toMatchObject({ outcome: 'dissuaded', amountAtRiskFen: 5_000_000 });
    // Once closed, the detail comes from the read model and says the same.
    const detail = (await api.get(supervisor, alertId)).json();
    expect(detail).toMatchObject({ state: 'closed', outcome: 'dissuaded', amountAtRiskFen: 5_000_000 });
    expect(detail.timeline).toHaveLength(4);
  });

  it.each([
    ['false_positive', 'false_positive'],
    ['already_defrauded', 'defrauded'],
  ])('contacted with %s closes as %s', async (outcome, closedAs) => {
    const alertId = await claimed();
    const result = await api.callResult(operator, alertId, { result: 'contacted', outcome });
    expect(result.json()).toMatchObject({ state: 'closed', outcome: closedAs });
  });

  it('contacted but refused goes to an in-person visit', async () => {
    const alertId = await claimed();
    const result = await api.callResult(operator, alertId, { result: 'contacted', outcome: 'refused' });
    expect(result.json()).toMatchObject({ state: 'visit_pending', outcome: null, assignee: null });
    expect(result.json().deadline).not.toBeNull();
  });

  it.each([
    ['dissuaded', 'dissuaded'],
    ['false_positive', 'false_positive'],
    ['already_defrauded', 'defrauded'],
    ['not_found', 'unreachable'],
  ])('not reached until attempts run out, then a visit with %s closes as %s', async (visitOutcome, closedAs) => {
    const alertId = await claimed();
    await notReachedUntilVisit(alertId);
    const visit = await api.visitResult(officer, alertId, { outcome: visitOutcome, note: '上门核实' });
    expect(visit.statusCode).toBe(200);
    expect(visit.json()).toMatchObject({ state: 'closed', outcome: closedAs });
    const kinds = visit.json().timeline.map((e: { kind: string }) => e.kind);
    expect(kinds).toEqual([
      'received',
      'claimed',
      'call_result',
      'retry_scheduled',
      'requeued',
      'claimed',
      'call_result',
      'visit_requested',
      'visit_result',
      'closed',
    ]);
    expect(visit.json().timeline.at(-1).actor).toEqual({ userId: officer.user.userId, role: 'station' });
  });

  it('low risk with visitOnUnreachable false closes as unreachable when attempts run out', async () => {
    const alertId = await claimed({ riskLevel: 'low' });
    const first = await api.callResult(operator, alertId, { result: 'not_reached', reason: 'powered_off' });
    expect(first.json().state).toBe('retry_wait');
    await waitFor('requeue', async () => (await api.get(supervisor, alertId)).json().state === 'queued');
    await api.claim(operator, alertId);
    const last = await api.callResult(operator, alertId, { result: 'not_reached', reason: 'busy' });
    expect(last.json()).toMatchObject({ state: 'closed', outcome: 'unreachable', callAttempts: 2 });
  });

  it('release puts a claimed alert back in the queue with its claim deadline unchanged', async () => {
    const alertId = await received();
    const queued = (await api.get(supervisor, alertId)).json();
    await api.claim(operator, alertId);
    const released = await api.release(operator, alertId);
    expect(released.statusCode).toBe(200);
    expect(released.json()).toMatchObject({ state: 'queued', assignee: null, deadline: queued.deadline });
  });

  it('transfer moves a visit to another station: the new one sees and closes it, the old one no longer sees it', async () => {
    const alertId = await claimed();
    await api.callResult(operator, alertId, { result: 'contacted', outcome: 'refused' });
    const before = (await api.get(officer, alertId)).json();
    const moved = await api.transfer(officer, alertId, { stationId: 'wuda-02', reason: '本人在武大附近' });
    expect(moved.statusCode).toBe(200);
    expect(moved.json()).toMatchObject({ state: 'visit_pending', stationId: 'wuda-02' });
    expect(Date.parse(moved.json().deadline)).toBeGreaterThanOrEqual(Date.parse(before.deadline));

    expect((await api.get(officer, alertId)).statusCode).toBe(404);
    expect((await api.visitResult(officer, alertId, { outcome: 'dissuaded' })).statusCode).toBe(404);
    await readModelRow(stack, alertId, (r) => r.stationId === 'wuda-02');
    const oldList = (await api.list(officer)).json().items.map((a: { alertId: string }) => a.alertId);
    expect(oldList).not.toContain(alertId);
    const newList = (await api.list(otherOfficer)).json().items.map((a: { alertId: string }) => a.alertId);
    expect(newList).toContain(alertId);

    const closed = await api.visitResult(otherOfficer, alertId, { outcome: 'dissuaded' });
    expect(closed.statusCode).toBe(200);
    expect(closed.json()).toMatchObject({ state: 'closed', outcome: 'dissuaded', stationId: 'wuda-02' });
  });

  it('cancel closes from every open state, and a second cancel is 409', async () => {
    const queued = await received();
    const calling = await claimed();
    const retrying = await claimed({ riskLevel: 'medium' });
    await api.callResult(operator, retrying, { result: 'not_reached' });
    const visiting = await claimed();
    await api.callResult(operator, visiting, { result: 'contacted', outcome: 'refused' });

    const states = await Promise.all(
      [queued, calling, retrying, visiting].map(async (id) => (await api.get(supervisor, id)).json().state),
    );
    expect(states).toEqual(['queued', 'calling', 'retry_wait', 'visit_pending']);

    for (const [who, alertId] of [
      [platform, queued],
      [supervisor, calling],
      [supervisor, retrying],
      [platform, visiting],
    ] as const) {
      const cancelled = await api.cancel(who, alertId, { reason: '平台撤回' });
      expect(cancelled.statusCode).toBe(200);
      expect(cancelled.json()).toMatchObject({ state: 'closed', outcome: 'cancelled' });
      expect(cancelled.json().timeline.at(-1)).toMatchObject({
        kind: 'closed',
        actor: { userId: who.user.userId },
        detail: { outcome: 'cancelled', reason: '平台撤回' },
      });
    }
    const again = await api.cancel(supervisor, queued, { reason: 'again' });
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe('invalid_transition');
  });

  it('refuses decisions that are not allowed in the current state with 409 invalid_transition', async () => {
    const alertId = await received();
    for (const response of [
      await api.callResult(operator, alertId, { result: 'not_reached' }),
      await api.visitResult(officer, alertId, { outcome: 'dissuaded' }),
      await api.transfer(officer, alertId, { stationId: 'wuda-02', reason: 'x' }),
    ]) {
      expect(response.statusCode).toBe(409);
      expect(response.json().code).toBe('invalid_transition');
    }
    await api.claim(operator, alertId);
    const twice = await api.claim(operator, alertId);
    expect(twice.statusCode).toBe(409);
    expect(twice.json().code).toBe('invalid_transition');
    // Refused decisions never enter the history: the timeline holds only what happened.
    const view = (await api.get(supervisor, alertId)).json();
    expect(view.timeline.map((e: { kind: string }) => e.kind)).toEqual(['received', 'claimed']);
    const history = await stack.client.workflow.getHandle(`alert-${alertId}`).fetchHistory();
    const updates = history.events!.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes);
    expect(updates).toHaveLength(1);
  });
});

describe('station scoping with several roles', () => {
  it('lets a station officer report a visit only for their own station, whatever other roles they hold', async () => {
    // An officer of wuda-02 who also takes calls reads every alert, yet visits only wuda-02's.
    const officerOperator = await stack.user(['station', 'operator'], { stationId: 'wuda-02' });
    // An officer of wuda-02 who is also a supervisor reports for any station, as the supervisor.
    const officerSupervisor = await stack.user(['station', 'supervisor'], { stationId: 'wuda-02' });
    const first = await claimed({ stationId: 'haibowan-01' });
    await notReachedUntilVisit(first);
    expect((await api.get(officerOperator, first)).statusCode).toBe(200);
    const refused = await api.visitResult(officerOperator, first, { outcome: 'dissuaded' });
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'forbidden' });
    expect(refused.json().detail).toMatch(/haibowan-01/);
    const moved = await api.transfer(officerOperator, first, { stationId: 'wuda-02', reason: '人在武大' });
    expect(moved.statusCode).toBe(403);
    expect((await api.get(supervisor, first)).json()).toMatchObject({
      state: 'visit_pending',
      stationId: 'haibowan-01',
    });

    const visit = await api.visitResult(officerSupervisor, first, { outcome: 'dissuaded' });
    expect(visit.statusCode, visit.body).toBe(200);
    expect(visit.json().timeline.at(-1).actor).toEqual({ userId: officerSupervisor.user.userId, role: 'supervisor' });
  });

  it('has the workflow itself refuse a station officer’s visit to another station’s alert', async () => {
    const alertId = await claimed({ stationId: 'haibowan-01' });
    await notReachedUntilVisit(alertId);
    const handle = stack.client.workflow.getHandle(`alert-${alertId}`);
    const actor = { userId: otherOfficer.user.userId, name: 'x', role: 'station' as const };
    for (const stationId of ['wuda-02', undefined])
      await expect(
        handle.executeUpdate(visitResultUpdate, { args: [{ actor, outcome: 'dissuaded', stationId }] }),
      ).rejects.toMatchObject({ cause: { type: 'not_assignee' } });
    const own = { userId: officer.user.userId, name: 'y', role: 'station' as const };
    const done = await handle.executeUpdate(visitResultUpdate, {
      args: [{ actor: own, outcome: 'dissuaded', stationId: 'haibowan-01' }],
    });
    expect(done).toMatchObject({ state: 'closed', outcome: 'dissuaded' });
  });
});
