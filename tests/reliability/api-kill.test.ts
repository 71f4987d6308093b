/**
 * The API process is killed with SIGKILL in the middle of a burst of filings and decisions, and started
 * again on the same port. Every client retries with its Idempotency-Key until it gets an answer; each
 * logical request has exactly one effect: one workflow per alert and per filing, one attempt counted
 * per call result, one approval, one bank instruction each — and the read model matches the workflows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort } from '../global-setup.js';
import { waitFor } from '../helpers/alerts.js';
import { startApiProcess, writePolicyFile, type ManagedProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  awaitLoad,
  buildPlan,
  caseWorkflows,
  closeWithProcesses,
  createActorsThroughApi,
  expectPlanFinished,
  fetchSender,
  newRunState,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
} from './scenario.js';

const ADMIN_TOKEN = 'reliability-admin-token-0123456789';

let stack: Stack;
let actors: Actors;
let apiEnv: Record<string, string> & { PORT: string };
let api: ManagedProcess;

beforeAll(async () => {
  // This process runs the worker and the bank simulator (so the bank's ledger outlives the API); the API is its own OS process.
  stack = await startStack({ policy: RELIABILITY_POLICY });
  apiEnv = {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    PORT: String(await freePort()),
    FANZHA_TASK_QUEUE: stack.config.temporal.taskQueue,
    FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
    FANZHA_POLICY_FILE: writePolicyFile(RELIABILITY_POLICY),
    BANK_GATEWAY_URL: `${stack.baseUrl}/sim/bank`,
    FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
    FANZHA_LOG_LEVEL: 'warn',
    FANZHA_DATA_DIR: '/tmp/fanzha-test-unused',
  };
  api = await startApiProcess(apiEnv);
  actors = await createActorsThroughApi(`http://127.0.0.1:${apiEnv.PORT}`, ADMIN_TOKEN, 6);
});

afterAll(async () => {
  await closeWithProcesses(stack);
});

describe('API killed mid-load', () => {
  it('gives every retried request exactly one effect', async () => {
    const plan = buildPlan(7202, 'ak', { alerts: 60, cases: 10, operators: actors.operators.length });
    await seedBank(plan, stack);
    const state = newRunState(plan);
    const load = runPlan(
      fetchSender(() => `http://127.0.0.1:${apiEnv.PORT}`),
      actors,
      plan,
      state,
      plan.alerts.length + plan.cases.length,
    );

    await waitFor('a quarter of the burst to be answered', async () => state.steps >= state.totalSteps / 4, 120_000);
    await api.kill('SIGKILL');
    expect((await api.exited).signal).toBe('SIGKILL');
    const stepsAtKill = state.steps;
    await new Promise((r) => setTimeout(r, 1_000));
    api = await startApiProcess(apiEnv);
    await awaitLoad(load, state);
    await waitAllClosed(stack.client, stack.config.temporal.taskQueue);

    expect(stepsAtKill).toBeLessThan(state.totalSteps);
    // The clients did see the API die, and carried on.
    expect(state.traffic.retries.network ?? 0).toBeGreaterThan(0);
    // Requests the kill caught half-way left their key claimed: the retries waited for the claim to go stale, then re-ran.
    expect(state.traffic.retries['409-in-progress'] ?? 0).toBeGreaterThan(0);
    await expectPlanFinished(stack, plan, state);
    // One workflow per alert and per filing, however often each was sent.
    const tq = stack.config.temporal.taskQueue;
    expect((await stack.client.workflow.count(`${caseWorkflows(tq)} AND WorkflowType = 'AlertWorkflow'`)).count).toBe(
      plan.alerts.length,
    );
    expect(
      (await stack.client.workflow.count(`${caseWorkflows(tq)} AND WorkflowType = 'StopPaymentWorkflow'`)).count,
    ).toBe(plan.cases.length);
    console.log(
      `api-kill: ${state.totalSteps} steps, ${stepsAtKill} answered at the kill; retries ${JSON.stringify(state.traffic.retries)}`,
    );
  }, 240_000);
});
