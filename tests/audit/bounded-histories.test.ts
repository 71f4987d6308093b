/**
 * Histories stay bounded (issue 15 §3): an alert pushed again 500 times with 2,000-character notes,
 * and a case that reaches the policy's hold limits on a server that suggests continue-as-new early,
 * both finish, replay, and their histories can be read. What lies beyond the hold limits is on the
 * record and told to the supervisor, never dropped silently.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { notifications } from '#db/schema.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { startDevServerOnFreePort, type DevServer } from '#scripts/temporal-dev-server.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { account, bankSimulator, caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { auditApi, auditStackOptions, ok } from './helpers.js';

/** The server suggests continuing after this many events (Temporal's default is 4,096): a case of a few holds crosses runs. */
const SUGGEST_CONTINUE_AFTER = 60;
const PUSHES = 500;

let dir: string;
let server: DevServer;
let stack: Stack;
let audit: ReturnType<typeof auditApi>;
let platform: Caller, operator: Caller, calltaker: Caller, approver: Caller, senior: Caller, auditor: Caller;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-bounded-'));
  server = await startDevServerOnFreePort({
    cliPath: inject('temporalCliPath'),
    dbFile: path.join(dir, 'temporal.sqlite'),
    headless: true,
    dynamicConfig: [`limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AFTER}`],
  });
  stack = await startStack(
    auditStackOptions({
      temporalAddress: server.address,
      policy: {
        stopPayment: { stopValidity: '10m', maxOnwardLevels: 3, maxHoldsPerCase: 6, maxOnwardAccountsPerHold: 3 },
      },
    }),
  );
  audit = auditApi(stack);
  [platform, operator, calltaker, approver, senior, auditor] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator']),
    stack.user(['calltaker']),
    stack.user(['approver']),
    stack.user(['senior_approver']),
    stack.user(['auditor']),
  ]);
});
afterAll(async () => {
  await stack?.close();
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every run of a workflow, oldest first: each one's history is read through the auditor's API and replays. */
async function expectEveryRunReadsAndReplays(workflowId: string): Promise<{ runs: number; largestEvent: number }> {
  const runs: { runId: string; start: number }[] = [];
  for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${workflowId}'` }))
    runs.push({ runId: run.runId, start: run.startTime.getTime() });
  let largestEvent = 0;
  for (const { runId } of runs.sort((a, b) => a.start - b.start)) {
    const history = ok<{ events: unknown[] }>(await audit.history(auditor, workflowId, runId));
    for (const event of history.events) largestEvent = Math.max(largestEvent, JSON.stringify(event).length);
    expect(ok(await audit.replay(auditor, workflowId, { runId }))).toMatchObject({ runId, deterministic: true });
  }
  return { runs: runs.length, largestEvent };
}

describe('bounded histories', () => {
  it('counts 500 repeated pushes with long notes instead of growing the history with each; the alert still closes', async () => {
    const alerts = alertApi(stack);
    const alert = newAlert({ riskLevel: 'medium' });
    expect((await alerts.ingest(platform, alert)).statusCode).toBe(201);
    const note = (i: number) => `第${i}次推送：`.padEnd(2000, '骗');
    let next = 1;
    // Four platform connections at once, as a busy platform pushes.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next <= PUSHES) {
          const i = next++;
          const pushed = await alerts.ingest(platform, { ...alert, note: note(i) });
          expect(pushed.statusCode).toBe(200);
        }
      }),
    );
    const shown = await waitFor(
      'every push counted',
      async () => {
        const view = (await alerts.get(operator, alert.alertId)).json();
        return view.repeatedPushes?.count === PUSHES ? view : undefined;
      },
      60_000,
    );
    expect(shown.repeatedPushes.note).toMatch(/^第\d+次推送：骗/);
    expect(shown.timeline.map((e: { kind: string }) => e.kind)).toEqual(['received']);

    await alerts.claim(operator, alert.alertId);
    const closed = await alerts.callResult(operator, alert.alertId, { result: 'contacted', outcome: 'dissuaded' });
    expect(closed.json()).toMatchObject({ state: 'closed', outcome: 'dissuaded' });
    await stack.client.workflow.getHandle(`alert-${alert.alertId}`).result();

    const { largestEvent } = await expectEveryRunReadsAndReplays(`alert-${alert.alertId}`);
    // No event carries more than a push's note or two: nothing in the history grows with the pushes before it.
    expect(largestEvent).toBeLessThan(16_000);
  });

  it('holds no more accounts than the policy allows, tells the supervisor of the rest, and follows its holds across runs', async () => {
    const cases = stopPaymentApi(stack);
    const bank = bankSimulator(stack);
    const first = account();
    const second = Array.from({ length: 5 }, () => account());
    const third = Array.from({ length: 4 }, () => account());
    await bank.seed({
      bank: 'ICBC',
      account: first,
      balanceFen: 1_000_000,
      onward: second.map((a) => ({ bank: 'ABC', account: a, amountFen: 100_000 })),
    });
    for (const [i, a] of second.entries())
      await bank.seed({
        bank: 'ABC',
        account: a,
        balanceFen: 100_000,
        onward: i === 0 ? third.map((c) => ({ bank: 'BOC', account: c, amountFen: 20_000 })) : [],
      });
    for (const c of third) await bank.seed({ bank: 'BOC', account: c, balanceFen: 20_000 });

    const id = (await cases.file(calltaker, newFiling([{ bank: 'ICBC', account: first, amountFen: 1_000_000 }]))).json()
      .stopPaymentId as string;
    expect((await cases.approve(approver, id)).statusCode).toBe(200);
    // 1 + 3 (of 5 named: the bound per bank answer) + 2 (of 3: the bound per case) accounts.
    const held = await caseWhen(
      stack,
      id,
      (v) => v.holds.length === 6 && v.holds.every((h) => h.state === 'stopped'),
      'six holds stopped',
    );
    expect(held.holds.map((h) => h.account)).toEqual([first, ...second.slice(0, 3), ...third.slice(0, 2)]);
    const limited = held.timeline.filter((e) => e.kind === 'holds_limited').map((e) => e.detail.notHeld);
    expect(limited.sort()).toEqual([2, 2]);
    const told = await waitFor('the supervisor told', async () => {
      const rows = await stack.database.db
        .select()
        .from(notifications)
        .where(and(eq(notifications.caseId, id), eq(notifications.kind, 'holds_limited')));
      return rows.length === 2 ? rows : undefined;
    });
    expect(told.map((n) => n.recipientRole)).toEqual(['supervisor', 'supervisor']);

    // Released from whichever run the case is in now: every hold, including those earlier runs started.
    expect((await cases.release(senior, id, { reason: '资金已返还' })).statusCode).toBe(200);
    const closed = await caseWhen(stack, id, (v) => v.state === 'closed', 'the case closed');
    expect(closed.holds.every((h) => h.state === 'released')).toBe(true);
    const kinds = closed.timeline.map((e) => e.kind);
    expect(kinds[0]).toBe('filed');
    expect(kinds.filter((k) => k === 'onward_found')).toHaveLength(5);
    expect(kinds.at(-1)).toBe('closed');
    const seen = (await cases.get(senior, id)).json() as StopPaymentView;
    expect(seen.timeline.map((e) => e.kind)).toEqual(kinds);

    const { runs } = await expectEveryRunReadsAndReplays(`stoppay-${id}`);
    expect(runs).toBeGreaterThan(1);
  });
});
