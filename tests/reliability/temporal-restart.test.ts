/**
 * The Temporal server itself (a dev server of this test's own, SQLite file) is stopped mid-load and
 * started again on the same file and port: nothing is lost — every alert and case finishes as
 * planned, timers that came due meanwhile fire, and the read model matches the workflows.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startDevServer, startDevServerOnFreePort, type DevServer } from '#scripts/temporal-dev-server.js';
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
  onlyEventTimes,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
} from './scenario.js';

let dir: string;
let port: number;
let server: DevServer | null = null;
let stack: Stack;
let actors: Actors;

const serverOptions = () => ({
  cliPath: inject('temporalCliPath'),
  dbFile: path.join(dir, 'temporal.sqlite'),
  headless: true,
  logFile: path.join(dir, 'temporal.log'),
  log: () => {},
});
/** Started again on the same file and port, as an operator restarts it. */
const startServer = () => startDevServer({ ...serverOptions(), port });

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-temporal-restart-'));
  server = await startDevServerOnFreePort(serverOptions());
  port = Number(server.address.split(':')[1]);
  stack = await startStack({
    policy: RELIABILITY_POLICY,
    temporalAddress: server.address,
    env: { FANZHA_RATE_LIMIT_PER_MINUTE: '10000000' },
  });
  actors = await createActors((roles) => stack.user(roles), 6);
});

afterAll(async () => {
  await stack?.close();
  const pid = server?.pid;
  await server?.stop();
  if (pid) expect(() => process.kill(pid, 0)).toThrow();
  rmSync(dir, { recursive: true, force: true });
});

describe('Temporal server restarted mid-load', () => {
  it('loses nothing: every workflow finishes as planned after the server comes back', async () => {
    const plan = buildPlan(7505, 'tr', { alerts: 60, cases: 10, operators: actors.operators.length });
    await seedBank(plan, stack);
    const api = await loggedApp(stack);
    const state = newRunState(plan);
    const load = runPlan(injectSender(api), actors, plan, state, plan.alerts.length + plan.cases.length);

    await waitFor('a third of the load to be done', async () => state.steps >= state.totalSteps / 3, 120_000);
    const first = server!;
    server = null;
    await first.stop();
    const stepsAtStop = state.steps;
    await new Promise((r) => setTimeout(r, 3_000));
    // While it is down the API says so.
    const readyz = await stack.request(null, { method: 'GET', url: '/readyz' });
    expect(readyz.statusCode).toBe(503);
    expect(readyz.json()).toMatchObject({ temporal: 'unreachable', database: 'ok' });
    server = await startServer();

    await awaitLoad(load, state);
    await api.app.close();
    await waitAllClosed(stack.client, stack.config.temporal.taskQueue);
    expect(stepsAtStop).toBeLessThan(state.totalSteps);
    expect((await stack.request(null, { method: 'GET', url: '/readyz' })).statusCode).toBe(200);
    await expectPlanFinished(stack, plan, state, onlyEventTimes);
    console.log(
      `temporal-restart: ${state.totalSteps} steps, ${stepsAtStop} done when the server stopped; retries ${JSON.stringify(state.traffic.retries)}`,
    );
  }, 240_000);
});
