/** A held account over time: re-stops, freeze, renewal, lapse, expiry — all on short policy durations. */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifications } from '#db/schema.js';
import type { StopPaymentView } from '#domain/stop-payment.js';
import { expectReadModelMatchesWorkflows, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { caseWhen, expectTotalsConsistent, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';

let stack: Stack;
let api: ReturnType<typeof stopPaymentApi>;
let calltaker: Caller, approver: Caller, senior: Caller;

beforeAll(async () => {
  stack = await startStack({
    policy: {
      stopPayment: {
        stopValidity: '4s',
        freezeReminderBefore: '2s',
        freezeValidity: '4s',
        renewalReminderBefore: '2s',
        maxRestops: 2,
      },
    },
  });
  api = stopPaymentApi(stack);
  calltaker = await stack.user(['calltaker']);
  approver = await stack.user(['approver']);
  senior = await stack.user(['senior_approver']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

/** A case with one stopped hold. */
async function stoppedCase(): Promise<{ id: string; holdId: string; view: StopPaymentView }> {
  const id = (await api.file(calltaker, newFiling([{ amountFen: 800_000 }]))).json().stopPaymentId;
  await api.approve(approver, id);
  const view = await caseWhen(stack, id, (v) => v.holds[0]?.state === 'stopped');
  return { id, holdId: view.holds[0]!.holdId, view };
}

const outboxKinds = async (id: string) =>
  (
    await stack.database.db.select().from(notifications).where(eq(notifications.caseId, id)).orderBy(notifications.id)
  ).map((n) => [n.recipientRole, n.kind]);

describe('hold lifecycle', () => {
  it('re-stops for a fresh validity at most maxRestops times, then refuses', async () => {
    const { id, holdId, view } = await stoppedCase();
    let expiry = Date.parse(view.holds[0]!.expiresAt!);
    for (let n = 1; n <= 2; n++) {
      await new Promise((r) => setTimeout(r, 300));
      const restopped = await api.restop(approver, id, holdId, { note: `第${n}次续止付` });
      expect(restopped.statusCode).toBe(200);
      const hold = restopped.json().holds[0];
      expect(hold.restops).toBe(n);
      expect(Date.parse(hold.expiresAt)).toBeGreaterThan(expiry);
      expiry = Date.parse(hold.expiresAt);
    }
    const third = await api.restop(approver, id, holdId);
    expect(third.statusCode).toBe(409);
    expect(third.json().code).toBe('invalid_transition');
    expect(third.json().detail).toContain('at most 2');
    expect((await api.restop(senior, id, holdId)).statusCode).toBe(403);
    expect((await api.restop(approver, id, `${id}-99`)).statusCode).toBe(404);
  });

  it('freezes with a legal document, renews for a new expiry, and the renewal continues the hold as a new run', async () => {
    const { id, holdId } = await stoppedCase();
    expect((await api.freeze(senior, id, holdId, {})).statusCode).toBe(400);
    expect((await api.freeze(approver, id, holdId, { legalDocRef: 'X' })).statusCode).toBe(403);
    const frozen = await api.freeze(senior, id, holdId, { legalDocRef: '武公（反诈）冻字〔2026〕118号' });
    expect(frozen.statusCode).toBe(200);
    const hold = frozen.json().holds[0];
    expect(hold).toMatchObject({ state: 'frozen', frozenFen: 800_000, legalDocRef: '武公（反诈）冻字〔2026〕118号' });
    expect((await api.freeze(senior, id, holdId, { legalDocRef: 'again' })).statusCode).toBe(409);
    expect((await api.restop(approver, id, holdId)).statusCode).toBe(409);

    const renewed = await api.renew(senior, id, holdId, { legalDocRef: '武公（反诈）续冻字〔2026〕7号' });
    expect(renewed.statusCode).toBe(200);
    const after = renewed.json().holds[0];
    expect(after).toMatchObject({ state: 'frozen', renewals: 1, legalDocRef: '武公（反诈）续冻字〔2026〕7号' });
    expect(Date.parse(after.expiresAt) - Date.parse(hold.expiresAt)).toBe(4_000);

    const runs = await waitFor('two runs of the hold workflow', async () => {
      const found = [];
      for await (const run of stack.client.workflow.list({ query: `WorkflowId = 'hold-${holdId}'` })) found.push(run);
      return found.length === 2 ? found : undefined;
    });
    expect(runs.map((r) => r.status.name).sort()).toEqual(['CONTINUED_AS_NEW', 'RUNNING']);
    const view = await caseWhen(stack, id, (v) => v.holds[0]!.renewals === 1);
    expect(view.frozenFen).toBe(800_000);
    expectTotalsConsistent(view);
  });

  it('lets an unconverted stop lapse, telling the supervisor at the reminder and at the lapse; the case then closes', async () => {
    const { id } = await stoppedCase();
    const lapsed = await caseWhen(
      stack,
      id,
      (v) => v.state === 'closed',
      'the stop to lapse and the case to close',
      20_000,
    );
    expect(lapsed.holds[0]!.state).toBe('lapsed');
    const kinds = await waitFor('notifications', async () => {
      const k = await outboxKinds(id);
      return k.some(([, kind]) => kind === 'stop_lapsed') ? k : undefined;
    });
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['supervisor', 'stop_expiring'],
        ['senior_approver', 'stop_expiring'],
        ['supervisor', 'stop_lapsed'],
      ]),
    );
    const reminderFirst =
      kinds.findIndex(([, k]) => k === 'stop_expiring') < kinds.findIndex(([, k]) => k === 'stop_lapsed');
    expect(reminderFirst).toBe(true);
  });

  it('lets an unrenewed freeze expire, with a renewal reminder first', async () => {
    const { id, holdId } = await stoppedCase();
    await api.freeze(senior, id, holdId, { legalDocRef: '冻字〔2026〕9号' });
    const expired = await caseWhen(stack, id, (v) => v.state === 'closed', 'the freeze to expire', 20_000);
    expect(expired.holds[0]).toMatchObject({ state: 'expired', frozenFen: 800_000 });
    const kinds = await waitFor('expiry notifications', async () => {
      const k = await outboxKinds(id);
      return k.some(([, kind]) => kind === 'freeze_expired') ? k : undefined;
    });
    expect(kinds).toEqual(
      expect.arrayContaining([
        ['supervisor', 'freeze_expiring'],
        ['supervisor', 'freeze_expired'],
      ]),
    );
  });

  it('fires expiry timers that came due while no worker ran', async () => {
    const { id } = await stoppedCase();
    await waitFor(
      'the stopped hold in the read model',
      async () =>
        (await stack.database.db.query.holds.findFirst({ where: (h, { eq: is }) => is(h.stopPaymentId, id) }))
          ?.state === 'stopped',
    );
    await stack.stopWorker();
    await new Promise((r) => setTimeout(r, 4_500));
    // Nothing ran while the worker was away: the read model still shows the stop.
    const stale = await stack.database.db.query.holds.findFirst({ where: (h, { eq: is }) => is(h.stopPaymentId, id) });
    expect(stale?.state).toBe('stopped');
    await stack.startWorker();
    const view = await caseWhen(stack, id, (v) => v.state === 'closed', 'the lapse after the restart', 20_000);
    expect(view.holds[0]!.state).toBe('lapsed');
    const lapses = await waitFor('one lapse notice', async () => {
      const rows = await stack.database.db
        .select()
        .from(notifications)
        .where(and(eq(notifications.caseId, id), eq(notifications.kind, 'stop_lapsed')));
      return rows.length > 0 ? rows : undefined;
    });
    expect(lapses).toHaveLength(1);
  });
});
