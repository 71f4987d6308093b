/** What the alert API guarantees beyond the state machine: uniqueness, races, scoping, masking, idempotency, input. */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alerts, auditAccessLog, caseEvents, idempotencyKeys } from '#db/schema.js';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let api: ReturnType<typeof alertApi>;
let platform: Caller,
  operator: Caller,
  operator2: Caller,
  officer: Caller,
  otherOfficer: Caller,
  supervisor: Caller,
  auditor: Caller;

beforeAll(async () => {
  stack = await startStack({ policy: { alert: { retryDelay: { high: '60s', medium: '60s', low: '60s' } } } });
  api = alertApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator']);
  operator2 = await stack.user(['operator']);
  officer = await stack.user(['station'], { stationId: 'haibowan-01' });
  otherOfficer = await stack.user(['station'], { stationId: 'wuda-02' });
  supervisor = await stack.user(['supervisor']);
  auditor = await stack.user(['auditor']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

describe('ingest', () => {
  it('turns 10 concurrent identical pushes into one workflow and one read-model row', async () => {
    const alert = newAlert();
    const responses = await Promise.all(Array.from({ length: 10 }, () => api.ingest(platform, alert)));
    const codes = responses.map((r) => r.statusCode).sort();
    expect(codes).toEqual([200, 200, 200, 200, 200, 200, 200, 200, 200, 201]);
    for (const r of responses.filter((r) => r.statusCode === 200))
      expect(r.json()).toMatchObject({ alertId: alert.alertId, duplicate: true });
    await readModelRow(stack, alert.alertId);
    const rows = await stack.database.db.select().from(alerts).where(eq(alerts.alertId, alert.alertId));
    expect(rows).toHaveLength(1);
    const runs = [];
    for await (const run of stack.client.workflow.list({ query: `WorkflowId = 'alert-${alert.alertId}'` }))
      runs.push(run);
    expect(runs).toHaveLength(1);
    // A repeated push that raises nothing is counted, not a timeline entry each: the alert shows the count.
    const view = await waitFor('nine pushes counted', async () => {
      const shown = (await api.get(supervisor, alert.alertId)).json();
      return shown.repeatedPushes?.count === 9 ? shown : undefined;
    });
    expect(view.timeline.map((e: { kind: string }) => e.kind)).toEqual(['received']);
  });

  it('lets a repeated push raise the risk (never lower it) and moves the alert up the queue', async () => {
    const earlier = newAlert({ riskLevel: 'medium' });
    const alert = newAlert({ riskLevel: 'low' });
    await api.ingest(platform, earlier);
    await api.ingest(platform, alert);
    const before = (await api.get(supervisor, alert.alertId)).json();

    const raised = await api.ingest(platform, { ...alert, riskLevel: 'high' });
    expect(raised.statusCode).toBe(200);
    expect(raised.json().duplicate).toBe(true);
    const after = await waitFor('the push shown', async () => {
      const shown = (await api.get(supervisor, alert.alertId)).json();
      return shown.timeline.at(-1)?.kind === 'platform_update' ? shown : undefined;
    });
    expect(after.riskLevel).toBe('high');
    expect(Date.parse(after.deadline)).toBeLessThan(Date.parse(before.deadline));
    expect(after.timeline.at(-1)).toMatchObject({
      kind: 'platform_update',
      detail: { riskLevel: 'high', raisedFrom: 'low' },
    });

    // A lower risk pushed again changes nothing but the count of repeats, its note kept.
    await api.ingest(platform, { ...alert, riskLevel: 'low', note: 'pushed again' });
    const lowered = await waitFor('the second push taken', async () => {
      const shown = (await api.get(supervisor, alert.alertId)).json();
      return shown.repeatedPushes?.count === 1 ? shown : undefined;
    });
    expect(lowered.repeatedPushes.note).toBe('pushed again');
    expect(lowered.timeline.filter((e: { kind: string }) => e.kind === 'platform_update')).toHaveLength(1);
    expect(lowered.riskLevel).toBe('high');

    await readModelRow(stack, alert.alertId, (r) => r.riskLevel === 'high');
    await readModelRow(stack, earlier.alertId);
    const queue = (await api.list(supervisor, '?state=queued&limit=200'))
      .json()
      .items.map((a: { alertId: string }) => a.alertId);
    expect(queue.indexOf(alert.alertId)).toBeLessThan(queue.indexOf(earlier.alertId));
  });

  it('answers a push for a closed alert as a duplicate without reopening it', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.cancel(platform, alert.alertId, { reason: 'withdrawn' });
    await readModelRow(stack, alert.alertId, (r) => r.state === 'closed');
    const again = await api.ingest(platform, alert);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true, state: 'closed' });
    expect((await api.get(supervisor, alert.alertId)).json()).toMatchObject({ state: 'closed', outcome: 'cancelled' });
  });

  it('refuses bad input with 400 naming each field, and creates nothing', async () => {
    const bad = {
      ...newAlert(),
      victim: { phone: '12345' },
      riskLevel: 'extreme',
      issuedAt: 'yesterday',
      stationId: 'no spaces allowed',
      extra: true,
    };
    const response = await api.ingest(platform, bad as never);
    expect(response.statusCode).toBe(400);
    const pointers = response
      .json()
      .errors.map((e: { pointer: string }) => e.pointer)
      .sort();
    expect(pointers).toEqual(['/extra', '/issuedAt', '/riskLevel', '/stationId', '/victim/phone']);
    expect(await stack.database.db.select().from(alerts).where(eq(alerts.alertId, bad.alertId))).toHaveLength(0);
    await expect(stack.client.workflow.getHandle(`alert-${bad.alertId}`).describe()).rejects.toThrow();

    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const noOutcome = await api.callResult(operator, alert.alertId, { result: 'contacted' });
    expect(noOutcome.statusCode).toBe(400);
    expect(noOutcome.json().errors[0].pointer).toBe('/outcome');
    const mixed = await api.callResult(operator, alert.alertId, { result: 'not_reached', outcome: 'dissuaded' });
    expect(mixed.statusCode).toBe(400);
    const badId = await api.get(supervisor, 'bad id!');
    expect(badId.statusCode).toBe(400);
    // A JSON body means what it says: a number sent as text, true or [5] is no amount of fen.
    for (const amountAtRiskFen of ['500000', true, [5]]) {
      const coerced = await api.callResult(operator, alert.alertId, {
        result: 'contacted',
        outcome: 'dissuaded',
        amountAtRiskFen,
      });
      expect(coerced.statusCode, JSON.stringify(amountAtRiskFen)).toBe(400);
      expect(coerced.json().errors[0].pointer).toBe('/amountAtRiskFen');
    }
    // A query string is text: its numbers still read as numbers.
    expect((await api.list(supervisor, '?limit=2')).statusCode).toBe(200);
    expect((await api.get(supervisor, alert.alertId)).json()).toMatchObject({ state: 'calling', callAttempts: 0 });
  });
});

describe('dates', () => {
  it('refuses an issuedAt before 2000 or more than a day ahead, naming it, and starts nothing', async () => {
    const inTwoDays = new Date(Date.now() + 2 * 86_400_000).toISOString();
    for (const issuedAt of ['1999-12-31T23:59:59+08:00', inTwoDays, '0001-01-01T00:00:00Z']) {
      const alert = newAlert({ issuedAt });
      const response = await api.ingest(platform, alert);
      expect(response.statusCode, issuedAt).toBe(400);
      expect(response.json().errors.map((e: { pointer: string }) => e.pointer)).toEqual(['/issuedAt']);
      await expect(stack.client.workflow.getHandle(`alert-${alert.alertId}`).describe()).rejects.toThrow();
    }
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    expect((await api.ingest(platform, newAlert({ issuedAt: soon }))).statusCode).toBe(201);
  });
});

describe('roles', () => {
  it('applies the role matrix of API.md', async () => {
    const alert = newAlert();
    expect((await api.ingest(operator, alert)).statusCode).toBe(403);
    await api.ingest(platform, alert);
    expect((await api.list(platform)).statusCode).toBe(403);
    expect((await api.get(platform, alert.alertId)).statusCode).toBe(403);
    expect((await api.claim(officer, alert.alertId)).statusCode).toBe(403);
    expect((await api.claim(supervisor, alert.alertId)).statusCode).toBe(403);
    expect((await api.next(supervisor)).statusCode).toBe(403);
    expect((await api.cancel(operator, alert.alertId, { reason: 'x' })).statusCode).toBe(403);
    expect((await api.visitResult(operator, alert.alertId, { outcome: 'dissuaded' })).statusCode).toBe(403);
    for (const reader of [operator, supervisor, officer, auditor])
      expect((await api.get(reader, alert.alertId)).statusCode).toBe(200);
    expect((await stack.request(null, { method: 'GET', url: `/v1/alerts/${alert.alertId}` })).statusCode).toBe(401);
  });
});

describe('decisions', () => {
  it('lets exactly one of two operators claiming at once win', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    const [a, b] = await Promise.all([api.claim(operator, alert.alertId), api.claim(operator2, alert.alertId)]);
    expect([a.statusCode, b.statusCode].sort()).toEqual([200, 409]);
    const loser = a.statusCode === 409 ? a : b;
    expect(loser.json().code).toBe('invalid_transition');
  });

  it('never loses a claim sent the instant an alert arrives', async () => {
    const claims = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const alert = newAlert();
        await api.ingest(platform, alert);
        return api.claim(operator, alert.alertId);
      }),
    );
    for (const claim of claims) {
      expect(claim.statusCode).toBe(200);
      const view = (await api.get(supervisor, claim.json().alertId)).json();
      expect(view).toMatchObject({ state: 'calling', assignee: { userId: operator.user.userId } });
    }
  });

  it('answers a decision with the whole timeline, steps not projected yet included', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    const claimed = await api.claim(operator, alert.alertId);
    expect(claimed.json().timeline.map((e: { kind: string }) => e.kind)).toEqual(['received', 'claimed']);
    await waitFor('the claim projected', async () =>
      (
        await stack.database.db
          .select()
          .from(caseEvents)
          .where(and(eq(caseEvents.workflowId, `alert-${alert.alertId}`), eq(caseEvents.kind, 'claimed')))
      ).at(0),
    );
    // As if the claim's projection were still on its way: only the history holds that step now.
    const claimStep = and(eq(caseEvents.workflowId, `alert-${alert.alertId}`), eq(caseEvents.kind, 'claimed'));
    const held = await stack.database.db.delete(caseEvents).where(claimStep).returning();
    try {
      const answered = await api.callResult(operator, alert.alertId, { result: 'not_reached', reason: 'busy' });
      expect(answered.statusCode).toBe(200);
      expect(answered.json().timeline.map((e: { kind: string }) => e.kind)).toEqual([
        'received',
        'claimed',
        'call_result',
        'retry_scheduled',
      ]);
    } finally {
      await stack.database.db.insert(caseEvents).values(held).onConflictDoNothing();
    }
  });

  it('refuses a call result from someone other than the assignee with 409 not_assignee', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const response = await api.callResult(operator2, alert.alertId, { result: 'contacted', outcome: 'dissuaded' });
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('not_assignee');
    expect((await api.release(operator2, alert.alertId)).json().code).toBe('not_assignee');
    expect((await api.get(supervisor, alert.alertId)).json()).toMatchObject({
      state: 'calling',
      assignee: { userId: operator.user.userId },
    });
  });

  it('gives a retried decision with the same Idempotency-Key exactly one effect', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const key = { 'idempotency-key': `call-${alert.alertId}` };
    const first = await api.callResult(operator, alert.alertId, { result: 'not_reached', reason: 'busy' }, key);
    const retried = await api.callResult(operator, alert.alertId, { result: 'not_reached', reason: 'busy' }, key);
    expect(first.statusCode).toBe(200);
    expect(retried.statusCode).toBe(200);
    expect(retried.json()).toEqual(first.json());
    const view = (await api.get(supervisor, alert.alertId)).json();
    expect(view.callAttempts).toBe(1);
    expect(view.timeline.filter((e: { kind: string }) => e.kind === 'call_result')).toHaveLength(1);
  });

  it('keeps an answer for retries a day, with every phone in it masked', async () => {
    const alert = newAlert({ victim: { phone: '13711112222', name: '林先生' } });
    await api.ingest(platform, alert);
    const key = { 'idempotency-key': `claim-${alert.alertId}` };
    const first = await api.claim(operator, alert.alertId, key);
    expect(first.json().victim.phone).toBe('13711112222');
    const [stored] = await stack.database.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, key['idempotency-key']));
    expect(JSON.stringify(stored!.response)).not.toContain('13711112222');
    const replayed = await api.claim(operator, alert.alertId, key);
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(replayed.json()).toMatchObject({ state: 'calling', victim: { phone: '137****2222' } });

    // A day later the key is forgotten here: the same key runs as a new request (and meets the workflow's own
    // record of that Update ID, which answers it as before).
    await stack.database.db
      .update(idempotencyKeys)
      .set({ createdAt: new Date(Date.now() - 25 * 3_600_000) })
      .where(eq(idempotencyKeys.key, key['idempotency-key']));
    const later = await api.claim(operator, alert.alertId, key);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(later.statusCode).toBe(200);
    const [fresh] = await stack.database.db
      .select()
      .from(idempotencyKeys)
      .where(eq(idempotencyKeys.key, key['idempotency-key']));
    expect(Date.now() - fresh!.createdAt.getTime()).toBeLessThan(3_600_000);
  });

  it('gives one effect even when the answer was lost and the key is sent again to the workflow', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const key = { 'idempotency-key': `lost-${alert.alertId}` };
    await api.callResult(operator, alert.alertId, { result: 'not_reached' }, key);
    // As if the API had died before storing its answer: only the Update ID protects the retry now.
    await stack.database.db.execute(`delete from idempotency_keys where key = 'lost-${alert.alertId}'` as never);
    const retried = await api.callResult(operator, alert.alertId, { result: 'not_reached' }, key);
    expect(retried.statusCode).toBe(200);
    expect((await api.get(supervisor, alert.alertId)).json().callAttempts).toBe(1);
  });

  it('refuses a key sent with another request, waits out a claim still running, and re-runs one gone stale', async () => {
    const alert = newAlert();
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const key = { 'idempotency-key': `half-${alert.alertId}` };
    const report = { result: 'not_reached', reason: 'busy' };
    expect((await api.callResult(operator, alert.alertId, report, key)).statusCode).toBe(200);
    const other = await api.callResult(operator, alert.alertId, { result: 'not_reached', reason: 'no_answer' }, key);
    expect(other.statusCode).toBe(409);
    expect(other.json().detail).toMatch(/different request/);
    // As if the API had died after the Update, before storing its answer: the claim is left without one.
    const row = and(eq(idempotencyKeys.userId, operator.user.userId), eq(idempotencyKeys.key, key['idempotency-key']));
    const setRow = (set: Partial<typeof idempotencyKeys.$inferInsert>) =>
      stack.database.db.update(idempotencyKeys).set(set).where(row);
    await setRow({ statusCode: null, response: null });
    const running = await api.callResult(operator, alert.alertId, report, key);
    expect(running.statusCode).toBe(409);
    expect(running.json().detail).toMatch(/still being processed/);
    await setRow({ createdAt: new Date(Date.now() - 31_000) });
    // Stale, but for another request: still that request's key.
    expect((await api.callResult(operator, alert.alertId, { result: 'not_reached' }, key)).statusCode).toBe(409);
    const rerun = await api.callResult(operator, alert.alertId, report, key);
    expect(rerun.statusCode).toBe(200);
    expect(rerun.headers['idempotent-replayed']).toBeUndefined();
    const [stored] = await stack.database.db.select().from(idempotencyKeys).where(row);
    expect(stored).toMatchObject({ statusCode: 200 });
    expect(Date.now() - stored!.createdAt.getTime()).toBeLessThan(30_000);
    expect((await api.get(supervisor, alert.alertId)).json().callAttempts).toBe(1);
    expect((await api.callResult(operator, alert.alertId, report, key)).headers['idempotent-replayed']).toBe('true');
  });
});

describe('personal data and station scoping', () => {
  it('masks the victim phone for everyone but the assignee and the station officer', async () => {
    const alert = newAlert({ victim: { phone: '13912345678', name: '李四' } });
    await api.ingest(platform, alert);
    await api.claim(operator, alert.alertId);
    const seen = async (caller: Caller) => (await api.get(caller, alert.alertId)).json().victim.phone;
    expect(await seen(operator)).toBe('13912345678');
    expect(await seen(officer)).toBe('13912345678');
    expect(await seen(operator2)).toBe('139****5678');
    expect(await seen(supervisor)).toBe('139****5678');
    expect(await seen(auditor)).toBe('139****5678');
    await readModelRow(stack, alert.alertId, (r) => r.state === 'calling');
    const listed = (await api.list(operator2, '?limit=200'))
      .json()
      .items.find((a: { alertId: string }) => a.alertId === alert.alertId);
    expect(listed.victim.phone).toBe('139****5678');
    const mine = (await api.list(operator, '?limit=200'))
      .json()
      .items.find((a: { alertId: string }) => a.alertId === alert.alertId);
    expect(mine.victim.phone).toBe('13912345678');
  });

  it('puts every read that shows a phone or account whole on the access log, and no masked one', async () => {
    const alert = newAlert({ victim: { phone: '13912340000', name: '王五' } });
    const withSuspect = newAlert({ suspect: { account: '6222020000000001' } });
    await api.ingest(platform, alert);
    await api.ingest(platform, withSuspect);
    await readModelRow(stack, withSuspect.alertId);
    const reads = async (workflowId: string) =>
      (await stack.database.db.select().from(auditAccessLog).where(eq(auditAccessLog.workflowId, workflowId))).map(
        (r) => [r.userId, r.action],
      );
    const claimed = await api.claim(operator, alert.alertId);
    expect(claimed.json().victim.phone).toBe('13912340000');
    expect((await api.get(officer, alert.alertId)).json().victim.phone).toBe('13912340000');
    expect((await api.get(supervisor, alert.alertId)).json().victim.phone).toBe('139****0000');
    expect(await reads(`alert-${alert.alertId}`)).toEqual([
      [operator.user.userId, 'alert_read'],
      [officer.user.userId, 'alert_read'],
    ]);
    // A suspect's account is shown whole to every reader: every read of it is on record.
    expect((await api.get(auditor, withSuspect.alertId)).json().suspect.account).toBe('6222020000000001');
    expect(await reads(`alert-${withSuspect.alertId}`)).toEqual([[auditor.user.userId, 'alert_read']]);
  });

  it("shows a station officer only their own station's alerts; others are 404", async () => {
    const alert = newAlert({ stationId: 'haibowan-01' });
    await api.ingest(platform, alert);
    await readModelRow(stack, alert.alertId);
    expect((await api.get(otherOfficer, alert.alertId)).statusCode).toBe(404);
    expect((await api.get(otherOfficer, alert.alertId)).json().code).toBe('not_found');
    const theirs = (await api.list(otherOfficer, '?limit=200')).json().items;
    expect(theirs.every((a: { stationId: string }) => a.stationId === 'wuda-02')).toBe(true);
    const filtered = (await api.list(otherOfficer, '?stationId=haibowan-01')).json().items;
    expect(filtered).toEqual([]);
    expect((await api.list(officer, '?limit=200')).json().items.map((a: { alertId: string }) => a.alertId)).toContain(
      alert.alertId,
    );
    expect((await api.cancel(supervisor, alert.alertId, { reason: 'test' })).statusCode).toBe(200);
    expect((await api.visitResult(otherOfficer, alert.alertId, { outcome: 'dissuaded' })).statusCode).toBe(404);
  });

  it('never writes an event twice for one step', async () => {
    const rows = await stack.database.db
      .select({ workflowId: caseEvents.workflowId, seq: caseEvents.seq })
      .from(caseEvents);
    const keys = rows.map((r) => `${r.workflowId}:${r.seq}`);
    expect(new Set(keys).size).toBe(keys.length);
    await waitFor('some events', async () => rows.length > 0);
  });
});
