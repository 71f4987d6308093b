/**
 * The worker process is killed with SIGKILL while 200 alerts and 20 stop-payment cases are in flight,
 * then started again: every alert and case finishes exactly as planned, every bank instruction had
 * one effect, and the read model matches every workflow.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { waitFor } from '../helpers/alerts.js';
import { startWorkerProcess, writePolicyFile, type ManagedProcess } from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  awaitLoad,
  buildPlan,
  caseWorkflows,
  closeWithProcesses,
  createActors,
  expectPlanFinished,
  injectSender,
  loggedApp,
  newRunState,
  onlyEventTimes,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
} from './scenario.js';

let stack: Stack;
let actors: Actors;
let workerEnv: Record<string, string>;

beforeAll(async () => {
  // The API (serving the bank simulator) runs in this process; the worker is its own OS process.
  stack = await startStack({
    worker: false,
    policy: RELIABILITY_POLICY,
    env: { FANZHA_RATE_LIMIT_PER_MINUTE: '10000000' },
  });
  actors = await createActors((roles) => stack.user(roles), 8);
  workerEnv = {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    FANZHA_TASK_QUEUE: stack.config.temporal.taskQueue,
    FANZHA_POLICY_FILE: writePolicyFile(RELIABILITY_POLICY),
    BANK_GATEWAY_URL: `${stack.baseUrl}/sim/bank`,
    FANZHA_LOG_LEVEL: 'warn',
    FANZHA_DATA_DIR: '/tmp/fanzha-test-unused',
  };
});

afterAll(async () => {
  await closeWithProcesses(stack);
});

describe('worker killed mid-load', () => {
  it('finishes every alert and case as planned after a SIGKILL and a restart', async () => {
    const plan = buildPlan(7101, 'wk', { alerts: 200, cases: 20, operators: actors.operators.length });
    await seedBank(plan, stack);
    let worker: ManagedProcess = await startWorkerProcess(workerEnv);
    // Sized by its memory budget (FANZHA_WORKER_MEMORY_MB, default 512), not by V8's share of the machine.
    const heapLimitMb = Number(/V8 heap limit (\d+) MB/.exec(worker.output())?.[1]);
    expect(heapLimitMb).toBeGreaterThan(0);
    expect(heapLimitMb).toBeLessThan(512);
    const api = await loggedApp(stack);
    const state = newRunState(plan);
    const t0 = Date.now();
    // Every alert and case has its own client: all 220 are in flight at once.
    const load = runPlan(injectSender(api), actors, plan, state, plan.alerts.length + plan.cases.length);

    await waitFor('a third of the load to be done', async () => state.steps >= state.totalSteps / 3, 120_000);
    const running = (
      await stack.client.workflow.count(
        `${caseWorkflows(stack.config.temporal.taskQueue)} AND ExecutionStatus = 'Running'`,
      )
    ).count;
    await worker.kill('SIGKILL');
    expect((await worker.exited).signal).toBe('SIGKILL');
    const stepsAtKill = state.steps;
    expect(running).toBeGreaterThan(20);

    await new Promise((r) => setTimeout(r, 2_000));
    worker = await startWorkerProcess(workerEnv);
    await awaitLoad(load, state);
    await api.app.close();
    await waitAllClosed(stack.client, stack.config.temporal.taskQueue).catch((error: Error) => {
      throw new Error(`${error.message}\n--- restarted worker output ---\n${worker.output().slice(-4000)}`);
    });
    expect(stepsAtKill).toBeLessThan(state.totalSteps);

    await expectPlanFinished(stack, plan, state, onlyEventTimes);
    console.log(
      `worker-kill: ${state.totalSteps} steps, ${stepsAtKill} done at the kill, ${running} workflows running then; retries ${JSON.stringify(state.traffic.retries)}; ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
  }, 240_000);
});
