/**
 * PostgreSQL under load: first every connection of the test database is cut (pg_terminate_backend),
 * several times; then the database refuses connections for several seconds. The API and the worker
 * run as their own OS processes, each under a supervisor as in production — which never has to act:
 * both processes stay up through it all (postgres.js carries patches/postgres+3.4.9.patch). Meanwhile
 * /readyz answers 503 naming the database, clients are answered 503 (never 500) and retry, activities
 * retry; afterwards readiness recovers, every plan finishes as planned and the projections have caught up.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort } from '../global-setup.js';
import { waitFor } from '../helpers/alerts.js';
import {
  allOutput,
  startApiProcess,
  startWorkerProcess,
  supervise,
  writePolicyFile,
  type Supervised,
} from '../helpers/processes.js';
import { startStack, type Stack } from '../helpers/stack.js';
import {
  ALERT_VICTIM_PHONE,
  CASE_VICTIM_PHONE,
  awaitLoad,
  buildPlan,
  closeWithProcesses,
  createActors,
  expectPlanFinished,
  fetchSender,
  newRunState,
  onlyEventTimes,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
  type Send,
} from './scenario.js';

let stack: Stack;
let actors: Actors;
let admin: postgres.Sql;
let databaseName: string;
let api: Supervised;
let worker: Supervised;
let port: string;

const cutConnections = () =>
  admin`select count(pg_terminate_backend(pid))::int as cut from pg_stat_activity where datname = ${databaseName} and pid <> pg_backend_pid()`;

beforeAll(async () => {
  // In this process: the database, the Temporal client and the bank simulator (no traffic of its own touches the database).
  stack = await startStack({ worker: false, policy: RELIABILITY_POLICY });
  actors = await createActors((roles) => stack.user(roles), 6);
  databaseName = new URL(stack.databaseUrl).pathname.slice(1);
  admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  port = String(await freePort());
  const env = {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    FANZHA_TASK_QUEUE: stack.config.temporal.taskQueue,
    FANZHA_POLICY_FILE: writePolicyFile(RELIABILITY_POLICY),
    BANK_GATEWAY_URL: `${stack.baseUrl}/sim/bank`,
    FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
    FANZHA_LOG_LEVEL: 'warn',
    FANZHA_DATA_DIR: '/tmp/fanzha-test-unused',
  };
  [api, worker] = await Promise.all([
    supervise(() => startApiProcess({ ...env, PORT: port })),
    supervise(() => startWorkerProcess(env)),
  ]);
});

afterAll(async () => {
  // Whatever happened, the database takes connections again.
  if (admin) {
    await admin.unsafe(`alter database ${databaseName} allow_connections true`);
    await admin.end();
  }
  await api?.stop();
  await worker?.stop();
  await closeWithProcesses(stack);
});

describe('database outage mid-load', () => {
  it('retries through cut connections and an unavailable database, says so on /readyz, and catches up', async () => {
    const plan = buildPlan(7303, 'db', { alerts: 60, cases: 10, operators: actors.operators.length });
    await seedBank(plan, stack);
    const state = newRunState(plan);
    const statuses: Record<number, number> = {};
    const errors500: string[] = [];
    const send = fetchSender(() => `http://127.0.0.1:${port}`);
    const counted: Send = async (...args) => {
      const reply = await send(...args);
      statuses[reply.status] = (statuses[reply.status] ?? 0) + 1;
      if (reply.status === 500) errors500.push(`${args[1]} ${args[2]}: ${JSON.stringify(reply.body)}`);
      return reply;
    };
    const [apiPid, workerPid] = [api.current().pid, worker.current().pid];
    const load = runPlan(counted, actors, plan, state, plan.alerts.length + plan.cases.length);
    const readyz = async () => {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(5_000) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };

    // 1. Connections cut under the running load, three times.
    await waitFor('a fifth of the load to be done', async () => state.steps >= state.totalSteps / 5, 120_000);
    let cut = 0;
    for (let i = 0; i < 3; i++) {
      cut += (await cutConnections())[0]!.cut;
      await new Promise((r) => setTimeout(r, 700));
    }
    expect(cut).toBeGreaterThan(0);

    // 2. The database refuses every connection for a while.
    await waitFor('two fifths of the load to be done', async () => state.steps >= (state.totalSteps * 2) / 5, 120_000);
    await admin.unsafe(`alter database ${databaseName} allow_connections false`);
    await cutConnections();
    const stepsAtOutage = state.steps;
    const down = await waitFor('/readyz to say the database is down', async () => {
      const r = await readyz().catch(() => null);
      return r?.status === 503 ? r : undefined;
    });
    expect(down.body).toMatchObject({ code: 'unavailable', database: 'unreachable', temporal: 'ok' });
    await new Promise((r) => setTimeout(r, 6_000));
    expect((await readyz().catch(() => null))?.status ?? 503).toBe(503);
    const stepsDuringOutage = state.steps - stepsAtOutage;
    await admin.unsafe(`alter database ${databaseName} allow_connections true`);
    await waitFor('/readyz to recover', async () => (await readyz().catch(() => null))?.status === 200, 60_000);

    await awaitLoad(load, state);
    await waitAllClosed(stack.client, stack.config.temporal.taskQueue);
    await stack.database.ping(5_000).catch(() => stack.database.ping(5_000));
    await expectPlanFinished(stack, plan, state, onlyEventTimes);
    // Clients were told to come back (503), never that something broke (500).
    expect(statuses[503] ?? 0).toBeGreaterThan(0);
    expect(errors500).toEqual([]);
    expect(down.body.detail).toContain('database');
    // Failed queries were logged (API) and retried (worker) without their values: no victim's phone in any log.
    const logs = allOutput();
    expect(logs).toContain('params: (withheld)');
    for (const phone of [ALERT_VICTIM_PHONE, CASE_VICTIM_PHONE]) expect(logs).not.toContain(phone);
    // No process died: not of the driver's null-socket write (porsager/postgres#1154), not of anything.
    expect([...api.crashes, ...worker.crashes].map((c) => `${c.phase}: ${c.output.slice(-3000)}`)).toEqual([]);
    expect(api.current().pid).toBe(apiPid);
    expect(worker.current().pid).toBe(workerPid);
    expect(api.current().alive() && worker.current().alive()).toBe(true);
    console.log(
      `database-outage: cut ${cut} connections; ${stepsDuringOutage} steps answered while the database was down; answers ${JSON.stringify(statuses)}`,
    );
  }, 240_000);
});
