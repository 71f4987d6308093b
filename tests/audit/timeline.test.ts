/**
 * The auditor's timeline: a closed case's Temporal history read as who decided what, when — timers,
 * escalations, bank calls, child workflows, continue-as-new — and every read in the access log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '#domain/roles.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { account, bankSimulator, caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { auditApi, auditStackOptions, decisions, ok, type TimelineEvent } from './helpers.js';

let stack: Stack;
let alerts: ReturnType<typeof alertApi>;
let cases: ReturnType<typeof stopPaymentApi>;
let audit: ReturnType<typeof auditApi>;
let platform: Caller,
  operator: Caller,
  supervisor: Caller,
  calltaker: Caller,
  approver: Caller,
  senior: Caller,
  auditor: Caller,
  admin: Caller;

beforeAll(async () => {
  stack = await startStack(
    auditStackOptions({
      policy: {
        alert: {
          claimSla: { high: '1s' },
          retryDelay: { high: '200ms', medium: '200ms', low: '200ms' },
          maxCallAttempts: 3,
        },
        stopPayment: { approvalSla: '1s', stopValidity: '10m', freezeValidity: '10m' },
      },
    }),
  );
  alerts = alertApi(stack);
  cases = stopPaymentApi(stack);
  audit = auditApi(stack);
  platform = await stack.user(['platform'], { name: '国家反诈平台' });
  operator = await stack.user(['operator'], { name: '王接线员' });
  supervisor = await stack.user(['supervisor'], { name: '陈值班长' });
  calltaker = await stack.user(['calltaker'], { name: '刘接警员' });
  approver = await stack.user(['approver'], { name: '周审批员' });
  senior = await stack.user(['senior_approver'], { name: '吴科长' });
  auditor = await stack.user(['auditor'], { name: '审计员孙' });
  admin = await stack.user(['admin'], { name: '管理员' });
});
afterAll(async () => {
  await stack?.close();
});

const kinds = (events: TimelineEvent[]) => events.map((e) => e.kind);
const indexOf = (events: TimelineEvent[], predicate: (e: TimelineEvent) => boolean) => {
  const index = events.findIndex(predicate);
  expect(index, 'an expected timeline entry is missing').toBeGreaterThanOrEqual(0);
  return index;
};

describe('timeline of a closed alert', () => {
  let alertId: string;
  let timeline: {
    workflowId: string;
    runId: string;
    workflowType: string;
    status: string;
    runs: { source: string; status: string }[];
    events: TimelineEvent[];
  };

  beforeAll(async () => {
    const alert = newAlert({ riskLevel: 'high' });
    alertId = alert.alertId;
    expect((await alerts.ingest(platform, alert)).statusCode).toBe(201);
    // Nobody claims it in time: the claim deadline escalates.
    await waitFor(
      'the first escalation',
      async () => (await alerts.get(supervisor, alertId)).json().escalationLevel >= 1,
    );
    await alerts.ingest(platform, { ...alert, note: '平台再次推送' });
    expect((await alerts.claim(operator, alertId)).statusCode).toBe(200);
    expect(
      (await alerts.callResult(operator, alertId, { result: 'not_reached', reason: 'no_answer' })).statusCode,
    ).toBe(200);
    await waitFor(
      'the retry to requeue the alert',
      async () => (await alerts.get(supervisor, alertId)).json().state === 'queued',
    );
    expect((await alerts.claim(operator, alertId)).statusCode).toBe(200);
    const closed = await alerts.callResult(operator, alertId, {
      result: 'contacted',
      outcome: 'dissuaded',
      amountAtRiskFen: 5_000_000,
      note: '已劝阻',
    });
    expect(closed.json()).toMatchObject({ state: 'closed', outcome: 'dissuaded' });
    await stack.client.workflow.getHandle(`alert-${alertId}`).result();
    timeline = ok(await audit.timeline(auditor, `alert-${alertId}`));
  });

  it('names the workflow, its run and that it completed, read from Temporal', () => {
    expect(timeline).toMatchObject({
      workflowId: `alert-${alertId}`,
      workflowType: 'AlertWorkflow',
      status: 'COMPLETED',
    });
    expect(timeline.runs).toEqual([expect.objectContaining({ source: 'temporal', status: 'COMPLETED' })]);
    expect(timeline.events[0]).toMatchObject({ kind: 'workflow_started', runId: timeline.runId });
    expect(timeline.events[0]!.summary).toContain(alertId);
    expect(timeline.events[0]!.summary).toContain('high risk');
    expect(timeline.events.at(-1)).toMatchObject({ kind: 'workflow_completed' });
    expect(timeline.events.at(-1)!.summary).toContain('closed (dissuaded)');
  });

  it('names every decision with its actor, in order, with what was decided', () => {
    expect(decisions(timeline.events)).toEqual([
      ['claim', '王接线员', 'operator'],
      ['callResult', '王接线员', 'operator'],
      ['claim', '王接线员', 'operator'],
      ['callResult', '王接线员', 'operator'],
    ]);
    const calls = timeline.events.filter((e) => e.kind === 'update_accepted' && e.detail?.update === 'callResult');
    expect(calls.map((e) => e.detail)).toEqual([
      expect.objectContaining({ result: 'not_reached', reason: 'no_answer' }),
      expect.objectContaining({
        result: 'contacted',
        outcome: 'dissuaded',
        amountAtRiskFen: 5_000_000,
        note: '已劝阻',
      }),
    ]);
    expect(calls[1]!.summary).toBe(
      '王接线员 (operator) reported the call: contacted, outcome dissuaded, 50000.00 CNY at risk — “已劝阻”',
    );
    expect(calls[1]!.actor).toEqual({ userId: operator.user.userId, name: '王接线员', role: 'operator' });
    // Every accepted decision is followed by its completion, naming the state it left the alert in.
    const completions = timeline.events.filter((e) => e.kind === 'update_completed').map((e) => e.summary);
    expect(completions).toEqual([
      'The “claim” decision took effect: alert calling',
      'The “callResult” decision took effect: alert retry_wait',
      'The “claim” decision took effect: alert calling',
      'The “callResult” decision took effect: alert closed (dissuaded)',
    ]);
  });

  it('shows the missed deadline as a timer that fired, an escalation and who was notified, before anyone claimed', () => {
    const firstClaim = indexOf(timeline.events, (e) => e.kind === 'update_accepted');
    const missed = indexOf(timeline.events, (e) => e.kind === 'deadline_missed');
    const fired = indexOf(timeline.events, (e) => e.kind === 'timer_fired');
    expect(fired).toBeLessThan(missed);
    expect(missed).toBeLessThan(firstClaim);
    expect(timeline.events[missed]!.summary).toMatch(
      /^Deadline missed: the claim deadline \(.+\) passed, escalation level 1, supervisor notified$/,
    );
    expect(timeline.events[missed]!.detail).toMatchObject({
      deadline: 'claim',
      level: 1,
      notifications: [expect.objectContaining({ to: 'supervisor', kind: 'alert_overdue' })],
    });
    expect(kinds(timeline.events)).toContain('timer_started');
  });

  it('shows the platform push, the retry and the close the workflow recorded on its own', () => {
    const push = timeline.events.find((e) => e.kind === 'signal_received' && e.detail?.signal === 'platformUpdate');
    expect(push?.summary).toBe('The platform pushed the alert again: risk high — “平台再次推送”');
    expect(kinds(timeline.events)).toEqual(
      expect.arrayContaining(['received', 'claimed', 'call_result', 'retry_scheduled', 'requeued', 'closed']),
    );
    expect(timeline.events.find((e) => e.kind === 'closed')).toMatchObject({
      summary: 'Closed: dissuaded',
      actor: { name: '王接线员', role: 'operator' },
    });
    // History order: entries never go back in history.
    const ids = timeline.events.map((e) => e.eventId);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
  });

  it('never shows the victim phone whole', () => {
    expect(JSON.stringify(timeline)).not.toContain('13812345678');
    expect(timeline.events[0]!.summary).toContain('138****5678');
  });
});

describe('timeline of closed stop-payments', () => {
  it('approved late, money followed onward, released: every actor and decision in order, bank calls in the holds', async () => {
    const bank = bankSimulator(stack);
    const first = account();
    const onward = account();
    await bank.seed({
      bank: 'ICBC',
      account: first,
      balanceFen: 1_800_000,
      onward: [{ bank: 'CCB', account: onward, amountFen: 1_200_000 }],
    });
    const id = (await cases.file(calltaker, newFiling([{ bank: 'ICBC', account: first, amountFen: 3_000_000 }]))).json()
      .stopPaymentId as string;
    await caseWhen(stack, id, (v) => v.escalationLevel >= 1, 'the approval deadline to be missed');
    expect((await cases.approve(approver, id, { note: '情况属实' })).statusCode).toBe(200);
    const view = await caseWhen(
      stack,
      id,
      (v) => v.holds.length === 2 && v.holds.every((h) => h.state === 'stopped'),
      'both holds stopped',
    );
    expect((await cases.release(senior, id, { reason: '资金已返还被害人' })).statusCode).toBe(200);
    await stack.client.workflow.getHandle(`stoppay-${id}`).result();

    const timeline = ok<{ status: string; workflowType: string; events: TimelineEvent[] }>(
      await audit.timeline(auditor, `stoppay-${id}`),
    );
    expect(timeline).toMatchObject({ workflowType: 'StopPaymentWorkflow', status: 'COMPLETED' });
    const events = timeline.events;
    expect(events[0]).toMatchObject({
      kind: 'workflow_started',
      actor: { userId: calltaker.user.userId, name: '刘接警员', role: 'calltaker' },
    });
    expect(events[0]!.summary).toContain(
      `Stop-payment ${id} filed by 刘接警员 (calltaker): 1 transfer(s) totalling 30000.00 CNY to ICBC ${first}`,
    );
    expect(decisions(events)).toEqual([
      ['approve', '周审批员', 'approver'],
      ['release', '吴科长', 'senior_approver'],
    ]);
    expect(events.find((e) => e.detail?.update === 'approve')!.summary).toBe(
      '周审批员 (approver) approved the stop-payment — “情况属实”',
    );
    expect(events.find((e) => e.detail?.update === 'release')!.summary).toBe(
      '吴科长 (senior_approver) ordered the release of every held account — “资金已返还被害人”',
    );

    const missed = indexOf(events, (e) => e.kind === 'deadline_missed');
    expect(events[missed]!.summary).toContain('the approval deadline');
    expect(events[missed]!.summary).toContain('escalation level 1, supervisor notified');
    expect(missed).toBeLessThan(indexOf(events, (e) => e.detail?.update === 'approve'));

    const children = events.filter((e) => e.kind === 'child_workflow_started');
    expect(children.map((e) => e.detail?.workflowId)).toEqual(view.holds.map((h) => h.workflowId));
    expect(children[1]!.summary).toContain(`CCB ${onward}, 12000.00 CNY, level 2`);
    const moved = indexOf(events, (e) => e.kind === 'signal_received' && e.detail?.signal === 'onwardFound');
    expect(moved).toBeLessThan(events.indexOf(children[1]!));
    expect(events[moved]!.summary).toContain(`CCB ${onward} 12000.00 CNY`);
    expect(
      events.filter((e) => e.kind === 'signal_sent' && e.detail?.signal === 'releaseHold').map((e) => e.actor?.name),
    ).toEqual(['吴科长', '吴科长']);
    expect(kinds(events).slice(-1)).toEqual(['workflow_completed']);

    // The first hold: the stop and the release at the bank, and who ordered the release.
    const hold = ok<{ events: TimelineEvent[] }>(await audit.timeline(auditor, view.holds[0]!.workflowId)).events;
    const bankCalls = hold
      .filter((e) => e.kind === 'bank_instruction' || e.kind === 'bank_answer')
      .map((e) => [e.kind, e.detail?.activity, e.detail?.status ?? null]);
    expect(bankCalls).toEqual([
      ['bank_instruction', 'stopAtBank', null],
      ['bank_answer', 'stopAtBank', 'partial'],
      ['bank_instruction', 'releaseAtBank', null],
      ['bank_answer', 'releaseAtBank', 'released'],
    ]);
    expect(hold.find((e) => e.kind === 'bank_answer')!.summary).toBe(
      `ICBC ${first} answered the stop-payment ${view.holds[0]!.holdId}:stop: partial, 18000.00 CNY held, 1 onward transfer(s): CCB ${onward} 12000.00 CNY`,
    );
    const order = hold.find((e) => e.kind === 'signal_received' && e.detail?.signal === 'releaseHold');
    expect(order).toMatchObject({ actor: { userId: senior.user.userId, name: '吴科长', role: 'senior_approver' } });
    expect(order!.summary).toContain('吴科长 (senior_approver) ordered this hold released — “资金已返还被害人”');
  });

  it('rejected with a reason', async () => {
    const id = (await cases.file(calltaker, newFiling())).json().stopPaymentId as string;
    expect((await cases.reject(approver, id, { reason: '报案信息不实' })).statusCode).toBe(200);
    await stack.client.workflow.getHandle(`stoppay-${id}`).result();
    const { events } = ok<{ events: TimelineEvent[] }>(await audit.timeline(auditor, `stoppay-${id}`));
    expect(decisions(events)).toEqual([['reject', '周审批员', 'approver']]);
    expect(events.find((e) => e.kind === 'update_accepted')!.summary).toBe(
      '周审批员 (approver) rejected the stop-payment — “报案信息不实”',
    );
    expect(events.find((e) => e.kind === 'rejected')).toMatchObject({
      actor: { name: '周审批员' },
      summary: 'Rejected — “报案信息不实”',
    });
  });

  it('a frozen hold renewed (continue-as-new) reads as one story across its runs', async () => {
    const id = (await cases.file(calltaker, newFiling([{ amountFen: 800_000 }]))).json().stopPaymentId as string;
    await cases.approve(approver, id);
    const { holds } = await caseWhen(stack, id, (v) => v.holds[0]?.state === 'stopped', 'the hold stopped');
    const hold = holds[0]!;
    expect(
      (await cases.freeze(senior, id, hold.holdId, { legalDocRef: '武公（反诈）冻字〔2026〕118号' })).statusCode,
    ).toBe(200);
    expect(
      (await cases.renew(senior, id, hold.holdId, { legalDocRef: '武公（反诈）续冻字〔2026〕7号' })).statusCode,
    ).toBe(200);
    await caseWhen(stack, id, (v) => v.holds[0]!.renewals === 1, 'the case to know of the renewal');
    expect((await cases.release(senior, id, { reason: '解除冻结' })).statusCode).toBe(200);
    await stack.client.workflow.getHandle(`stoppay-${id}`).result();

    const timeline = ok<{
      runId: string;
      status: string;
      runs: { runId: string; status: string }[];
      events: TimelineEvent[];
    }>(await audit.timeline(auditor, hold.workflowId));
    expect(timeline.runs.map((r) => r.status)).toEqual(['CONTINUED_AS_NEW', 'COMPLETED']);
    expect(timeline.runId).toBe(timeline.runs[1]!.runId);
    expect(timeline.status).toBe('COMPLETED');
    const [run1, run2] = timeline.runs.map((r) => r.runId);
    expect(decisions(timeline.events)).toEqual([
      ['freeze', '吴科长', 'senior_approver'],
      ['renew', '吴科长', 'senior_approver'],
    ]);
    expect(timeline.events.find((e) => e.detail?.update === 'renew')!.summary).toBe(
      '吴科长 (senior_approver) renewed the freeze under legal document 武公（反诈）续冻字〔2026〕7号',
    );
    // The bank was told, in order: stop, freeze, renewal (first run), release (second run).
    expect(
      timeline.events.filter((e) => e.kind === 'bank_instruction').map((e) => [e.detail?.activity, e.runId]),
    ).toEqual([
      ['stopAtBank', run1],
      ['freezeAtBank', run1],
      ['renewAtBank', run1],
      ['releaseAtBank', run2],
    ]);
    const continued = indexOf(timeline.events, (e) => e.kind === 'workflow_continued_as_new');
    expect(timeline.events[continued]!.detail?.newRunId).toBe(run2);
    expect(timeline.events[continued + 1]).toMatchObject({ kind: 'workflow_started', runId: run2 });
    expect(timeline.events[continued + 1]!.summary).toContain(
      `continues as a new run after its renewal (previous run ${run1})`,
    );
    expect(timeline.events.find((e) => e.kind === 'renewed')).toMatchObject({
      actor: { name: '吴科长', role: 'senior_approver' },
    });
    expect(
      timeline.events.find((e) => e.kind === 'signal_received' && e.detail?.signal === 'releaseHold'),
    ).toMatchObject({ runId: run2, actor: { name: '吴科长' } });
    expect(timeline.events.at(-1)).toMatchObject({ kind: 'workflow_completed', runId: run2 });
  });
});

describe('who may read, and the access log', () => {
  it('answers 404 for a workflow that exists nowhere, and 400 for a malformed ID', async () => {
    const missing = await audit.timeline(auditor, 'alert-never-pushed');
    expect(missing.statusCode).toBe(404);
    expect(missing.json().code).toBe('not_found');
    expect((await audit.history(auditor, 'alert-never-pushed')).statusCode).toBe(404);
    expect((await audit.replay(auditor, 'alert-never-pushed')).statusCode).toBe(404);
    const malformed = await audit.timeline(auditor, 'alert%20x');
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json().code).toBe('validation_failed');
  });

  it('refuses every audit route to every role but auditor (403), and to no token (401); the access log is for admins', async () => {
    const openapi = (await stack.request(null, { method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const auditPaths = Object.entries(openapi.paths)
      .filter(([p]) => p.startsWith('/v1/audit/'))
      .flatMap(([p, methods]) =>
        Object.keys(methods).map((m) => [m.toUpperCase(), p.replace('{workflowId}', 'alert-x')] as const),
      );
    expect(auditPaths.map(([m, p]) => `${m} ${p}`).sort()).toEqual([
      'GET /v1/audit/access-log',
      'GET /v1/audit/admin-log',
      'GET /v1/audit/archive',
      'GET /v1/audit/archive/verify',
      'GET /v1/audit/workflows/alert-x/history',
      'GET /v1/audit/workflows/alert-x/timeline',
      'POST /v1/audit/workflows/alert-x/replay',
    ]);
    const others = await Promise.all(
      ROLES.filter((r) => r !== 'auditor').map((role) =>
        stack.user([role as Role], role === 'station' ? { stationId: 'haibowan-01' } : {}),
      ),
    );
    for (const [method, url] of auditPaths) {
      const allowed: Role = url === '/v1/audit/access-log' ? 'admin' : 'auditor';
      expect(
        (await stack.request(null, { method, url, payload: method === 'POST' ? {} : undefined })).statusCode,
        `${method} ${url} without a token`,
      ).toBe(401);
      for (const caller of [...others, auditor].filter((c) => !c.user.roles.includes(allowed))) {
        const response = await stack.request(caller, { method, url, payload: method === 'POST' ? {} : undefined });
        expect(response.statusCode, `${method} ${url} as ${caller.user.roles}`).toBe(403);
        expect(response.json().code).toBe('forbidden');
      }
    }
  });

  it('logs who read which case and how; an admin pages through it, newest first', async () => {
    const alert = newAlert();
    await alerts.ingest(platform, alert);
    const workflowId = `alert-${alert.alertId}`;
    ok(await audit.timeline(auditor, workflowId));
    expect((await audit.history(auditor, workflowId)).statusCode).toBe(200);
    ok(await audit.replay(auditor, workflowId));
    ok(await audit.verify(auditor));

    const mine = ok<{
      items: { userId: string; userName: string; action: string; workflowId: string | null; at: string }[];
    }>(await audit.accessLog(admin, `?workflowId=${workflowId}`));
    expect(mine.items.map((i) => [i.action, i.userId, i.userName, i.workflowId])).toEqual([
      ['replay', auditor.user.userId, '审计员孙', workflowId],
      ['history', auditor.user.userId, '审计员孙', workflowId],
      ['timeline', auditor.user.userId, '审计员孙', workflowId],
    ]);
    expect(Date.parse(mine.items[0]!.at)).toBeGreaterThan(Date.now() - 60_000);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const pageOf: { items: { id: string; action: string }[]; nextCursor: string | null } = ok(
        await audit.accessLog(admin, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(pageOf.items.length).toBeLessThanOrEqual(2);
      seen.push(...pageOf.items.map((i) => i.id));
      cursor = pageOf.nextCursor;
    } while (cursor);
    expect(seen.map(Number)).toEqual([...seen.map(Number)].sort((a, b) => b - a));
    expect(new Set(seen).size).toBe(seen.length);
    const all = ok<{ items: unknown[] }>(await audit.accessLog(admin, '?limit=200')).items;
    expect(seen.length).toBe(all.length);
    expect(
      ok<{ items: { action: string }[] }>(await audit.accessLog(admin, '?action=archive_verify')).items.every(
        (i) => i.action === 'archive_verify',
      ),
    ).toBe(true);
    expect((await audit.accessLog(admin, '?cursor=not-a-cursor')).statusCode).toBe(400);
  });
});
