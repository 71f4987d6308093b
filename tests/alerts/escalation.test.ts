/** Missed deadlines escalate (level 1 → supervisor, level 2 → center head) and never close or move an alert. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '#db/schema.js';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { eq } from 'drizzle-orm';
import { alertWorkflowId } from '#domain/alert.js';
import { claimUpdate } from '#workflows/messages.js';

let stack: Stack;
let api: ReturnType<typeof alertApi>;
let platform: Caller, operator: Caller, supervisor: Caller;

beforeAll(async () => {
  stack = await startStack({
    policy: {
      alert: {
        claimSla: { high: '1s', medium: '60s', low: '60s' },
        callTimeout: '1s',
        visitSla: { high: '60s', medium: '1s', low: '60s' },
      },
    },
  });
  api = alertApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator']);
  supervisor = await stack.user(['supervisor']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

async function escalatedTwice(alertId: string) {
  return waitFor(`alert ${alertId} to reach escalation level 2`, async () => {
    const view = (await api.get(supervisor, alertId)).json();
    return view.escalationLevel === 2 ? view : undefined;
  });
}

async function outbox(alertId: string) {
  return waitFor('two outbox rows', async () => {
    const rows = await stack.database.db
      .select()
      .from(notifications)
      .where(eq(notifications.caseId, alertId))
      .orderBy(notifications.id);
    return rows.length >= 2 ? rows : undefined;
  });
}

function expectEscalation(view: { timeline: { kind: string; detail: Record<string, unknown> }[] }, deadline: string) {
  const missed = view.timeline.filter((e) => e.kind === 'deadline_missed');
  expect(missed.map((e) => [e.detail.deadline, e.detail.level, e.detail.notified])).toEqual([
    [deadline, 1, 'supervisor'],
    [deadline, 2, 'center_head'],
  ]);
}

describe('escalation', () => {
  it('a missed claim deadline escalates twice, notifies supervisor then center head, and leaves the alert queued', async () => {
    const alert = newAlert({ riskLevel: 'high' });
    expect((await api.ingest(platform, alert)).statusCode).toBe(201);
    const view = await escalatedTwice(alert.alertId);
    expect(view).toMatchObject({ state: 'queued', overdue: true, outcome: null });
    expectEscalation(view, 'claim');
    const rows = await outbox(alert.alertId);
    expect(rows.map((r) => [r.recipientRole, r.kind, r.workflowId])).toEqual([
      ['supervisor', 'alert_overdue', `alert-${alert.alertId}`],
      ['center_head', 'alert_overdue', `alert-${alert.alertId}`],
    ]);
    expect(rows[0]!.message).toContain(alert.alertId);
    // Level 2 is the last: waiting longer adds nothing, and the humans can still act.
    await new Promise((r) => setTimeout(r, 1500));
    expect(
      await stack.database.db.select().from(notifications).where(eq(notifications.caseId, alert.alertId)),
    ).toHaveLength(2);
    const claim = await api.claim(operator, alert.alertId);
    expect(claim.json()).toMatchObject({ state: 'calling', overdue: false, escalationLevel: 0 });
  });

  it('a call result not reported within callTimeout escalates the same way, the alert stays with its operator', async () => {
    const alert = newAlert({ riskLevel: 'medium' });
    await api.ingest(platform, alert);
    expect((await api.claim(operator, alert.alertId)).statusCode).toBe(200);
    const view = await escalatedTwice(alert.alertId);
    expect(view).toMatchObject({ state: 'calling', overdue: true, assignee: { userId: operator.user.userId } });
    expectEscalation(view, 'call');
    expect((await outbox(alert.alertId)).map((r) => r.recipientRole)).toEqual(['supervisor', 'center_head']);
  });

  it('a missed visit deadline escalates the same way, the alert stays with the station', async () => {
    const alert = newAlert({ riskLevel: 'medium' });
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    await api.callResult(operator, alert.alertId, { result: 'contacted', outcome: 'refused' });
    const view = await escalatedTwice(alert.alertId);
    expect(view).toMatchObject({ state: 'visit_pending', overdue: true, stationId: alert.stationId });
    expectEscalation(view, 'visit');
  });

  it('a supervisor sees the overdue alerts first', async () => {
    const late = newAlert({ riskLevel: 'high' });
    await api.ingest(platform, late);
    await waitFor('overdue', async () => (await api.get(supervisor, late.alertId)).json().overdue);
    const fresh = newAlert({ riskLevel: 'medium' });
    await api.ingest(platform, fresh);
    await waitFor('fresh alert in the read model', async () =>
      (await api.list(supervisor, '?state=queued'))
        .json()
        .items.some((a: { alertId: string }) => a.alertId === fresh.alertId),
    );
    const queue = (await api.list(supervisor, '?state=queued')).json().items.map((a: { alertId: string }) => a.alertId);
    expect(queue.indexOf(late.alertId)).toBeLessThan(queue.indexOf(fresh.alertId));
    const overdueOnly = (await api.list(supervisor, '?overdue=true')).json().items;
    expect(overdueOnly.every((a: { overdue: boolean }) => a.overdue)).toBe(true);
    expect(overdueOnly.map((a: { alertId: string }) => a.alertId)).toContain(late.alertId);
  });

  it('counts a deadline missed while no worker ran, though the claim lands in the same workflow task as the deadline', async () => {
    const alert = newAlert({ riskLevel: 'high' });
    expect((await api.ingest(platform, alert)).statusCode).toBe(201);
    await readModelRow(stack, alert.alertId);
    await stack.stopWorker();
    let claiming: Promise<unknown> | undefined;
    try {
      // The 1 s claim deadline passes with no worker, and the claim waits for one: the worker that
      // comes back gets both in one workflow task, where the claim is handled first.
      await new Promise((r) => setTimeout(r, 1_500));
      const actor = { userId: operator.user.userId, name: operator.user.name, role: 'operator' as const };
      claiming = stack.client.workflow
        .getHandle(alertWorkflowId(alert.alertId))
        .executeUpdate(claimUpdate, { args: [{ actor }], updateId: `late-${alert.alertId}` });
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      await stack.startWorker();
    }
    await claiming;
    // As the console shows it: the view with its timeline (the Update answers with the view alone).
    const view = (await api.get(operator, alert.alertId)).json() as {
      state: string;
      escalationLevel: number;
      timeline: { kind: string; detail: Record<string, unknown> }[];
    };
    expect(view.state).toBe('calling');
    const kinds = view.timeline.map((e) =>
      e.kind === 'deadline_missed' ? `missed ${e.detail.deadline} ${e.detail.level}` : e.kind,
    );
    // Missed first (level 2 too if the worker took over a second to come back), then the claim.
    expect(kinds[0]).toBe('received');
    expect(kinds[1]).toBe('missed claim 1');
    expect(kinds.slice(2, -1).every((k) => k === 'missed claim 2')).toBe(true);
    expect(kinds.at(-1)).toBe('claimed');
    const rows = await waitFor('the supervisor told', async () => {
      const found = await stack.database.db.select().from(notifications).where(eq(notifications.caseId, alert.alertId));
      return found.length > 0 ? found : undefined;
    });
    expect(rows[0]!.recipientRole).toBe('supervisor');
  });
});
