/**
 * The bank gateway fails (503s) and is slow (answers after the gateway client's 10 s timeout, so a
 * call the worker gave up on still takes effect at the bank) while cases are approved, frozen and
 * released: holds retry with the same instruction ID and end right, every instruction ID has exactly
 * one applied effect, every account was held once, and the read model matches the workflows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/alerts.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  awaitLoad,
  buildPlan,
  createActors,
  expectPlanFinished,
  injectSender,
  loggedApp,
  newRunState,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
} from './scenario.js';

let stack: Stack;
let actors: Actors;

beforeAll(async () => {
  stack = await startStack({ policy: RELIABILITY_POLICY, env: { FANZHA_RATE_LIMIT_PER_MINUTE: '10000000' } });
  actors = await createActors((roles) => stack.user(roles), 1);
});
afterAll(() => stack?.close());

describe('bank gateway failing and slow', () => {
  it('retries every instruction to exactly one effect and ends every hold right', async () => {
    const sim = (method: 'GET' | 'POST', url: string, payload?: object) =>
      stack.request(null, { method, url: `/sim/bank${url}`, ...(payload ? { payload } : {}) });
    const faults = async (failNext: number, latencyMs: number) =>
      expect((await sim('POST', '/faults', { failNext, latencyMs })).statusCode).toBe(200);
    const plan = buildPlan(7404, 'bk', { alerts: 0, cases: 16, operators: 1 });
    await seedBank(plan, stack);
    const api = await loggedApp(stack);
    const state = newRunState(plan);
    await faults(6, 100);
    const load = runPlan(injectSender(api), actors, plan, state, plan.cases.length);

    // Slow: every call in this window answers after the worker's 10 s timeout, and still takes effect.
    await waitFor('the first approvals', async () => state.steps >= plan.cases.length + 2, 60_000);
    await faults(0, 11_000);
    await new Promise((r) => setTimeout(r, 5_000));
    // Failing: the next calls answer 503 and have no effect.
    await faults(15, 150);
    await awaitLoad(load, state);
    await api.app.close();
    await faults(0, 0);
    await waitAllClosed(stack.client, stack.config.temporal.taskQueue, 150_000);

    const ledger = await expectPlanFinished(stack, plan, state);
    const outcomes = ledger.reduce<Record<string, number>>(
      (n, e) => ({ ...n, [e.outcome]: (n[e.outcome] ?? 0) + 1 }),
      {},
    );
    expect(outcomes.failed ?? 0, 'injected 503s').toBeGreaterThan(0);
    expect(outcomes.replayed ?? 0, 'instructions sent again after a timeout or lost answer').toBeGreaterThan(0);
    // Every seeded account was held once: its balance went down by exactly what its hold stopped.
    for (const c of plan.cases) {
      if (c.path === 'reject') continue;
      for (const h of c.holds) {
        if (!h.seed || h.seed.exists === false) continue;
        const account = (await sim('GET', `/accounts/${h.bank}/${h.account}`)).json();
        expect(account.balanceFen, `${h.bank} ${h.account}`).toBe(h.seed.balanceFen - h.expected.stoppedFen);
      }
    }
    console.log(`bank-faults: ledger ${JSON.stringify(outcomes)}`);
  }, 240_000);
});
