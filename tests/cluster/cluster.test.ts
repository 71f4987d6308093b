/**
 * Fanzha on a self-hosted Temporal Server on PostgreSQL (`npm run cluster`'s startCluster), with two
 * workers and two API processes, started once for the file. The reliability suite's seeded load goes
 * through both APIs in turn while the cluster is broken in every way it can be: a worker SIGKILLed, an
 * API SIGKILLed (clients retry with their Idempotency-Key), the Temporal server restarted, and a rolling
 * upgrade moving the workers one at a time onto the next release (a patched() change) with old and new
 * code side by side. It ends as every reliability test ends: every alert and case finished as planned,
 * one bank effect per instruction, the read model reconciles, every history replays on the new code.
 */
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { inArray } from 'drizzle-orm';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '#db/client.js';
import { auditArchive } from '#db/schema.js';
import { alertWorkflowId } from '#domain/alert.js';
import { dropClusterDatabases, privateClusterPorts } from '#scripts/cluster/temporal.js';
import { startCluster, type Cluster } from '#scripts/cluster/cluster.js';
import { waitFor } from '../helpers/alerts.js';
import { writePolicyFile } from '../helpers/processes.js';
import {
  awaitLoad,
  buildPlan,
  caseWorkflows,
  createActorsThroughApi,
  userThroughApi,
  deleteSchedulesOf,
  expectPlanFinishedOn,
  fetchSender,
  newRunState,
  onlyEventTimes,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  waitAllClosed,
  type Actors,
  type LedgerEntry,
} from '../reliability/scenario.js';
import { NEXT_RELEASE_PATCH } from './workflows-next.js';

const ADMIN_TOKEN = 'cluster-admin-token-0123456789abcdef';
const TASK_QUEUE = 'fanzha-cluster-test';
const NAME = `fzcluster_${process.pid}`;
const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES_URL;

let cluster: Cluster;
let client: Client;
let connection: Connection;
let database: DatabaseHandle;
let actors: Actors;
const dataDir = path.join(os.tmpdir(), `fanzha-cluster-test-${process.pid}`);
const said: string[] = [];

beforeAll(async () => {
  const { port, temporalPort } = await privateClusterPorts(2);
  cluster = await startCluster({
    workers: 2,
    apis: 2,
    adminUrl,
    name: NAME,
    host: '127.0.0.1',
    port,
    temporalPort,
    historyShards: 4,
    retentionDays: 30,
    namespace: 'default',
    dataDir,
    env: {
      FANZHA_TASK_QUEUE: TASK_QUEUE,
      FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
      FANZHA_POLICY_FILE: writePolicyFile(RELIABILITY_POLICY),
      FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
      FANZHA_LOG_LEVEL: 'warn',
      // Archive every few seconds, so the test sees each closed run archived (once).
      FANZHA_ARCHIVE_EVERY: '3s',
    },
    log: (line) => said.push(line),
  });
  connection = await Connection.connect({ address: cluster.temporalAddress });
  client = new Client({ connection, namespace: 'default' });
  database = await openDatabase({ url: cluster.databaseUrl, dataDir });
  actors = await createActorsThroughApi(cluster.url, ADMIN_TOKEN, 6);
}, 600_000);

afterAll(async () => {
  if (client) await deleteSchedulesOf(client, TASK_QUEUE);
  await cluster?.stop();
  await database?.close();
  await connection?.close();
  await dropClusterDatabases(adminUrl, NAME);
}, 180_000);

describe('a Temporal cluster with two workers and two APIs', () => {
  it('finishes every alert and case as planned through a worker kill, an API kill, a Temporal restart and a rolling upgrade', async () => {
    const plan = buildPlan(1616, 'cl', { alerts: 70, cases: 10, operators: actors.operators.length });
    await seedBank(plan, { bankUrl: cluster.bankGatewayUrl });
    const state = newRunState(plan);
    // Both APIs, in turn, request by request.
    let turn = 0;
    const send = fetchSender(() => cluster.apiUrls[turn++ % cluster.apiUrls.length]!);
    // Most of the plan from the start; five alerts arrive while the workers roll (old and new code side
    // by side), the last five once every worker runs the next release.
    const part = (from: number, to: number, cases = plan.cases) => ({
      ...plan,
      cases,
      alerts: plan.alerts.slice(from, to),
    });
    const loads = [runPlan(send, actors, part(0, 60), state, 16)];
    const reached = (fraction: number) =>
      waitFor(`${fraction * 100}% of the load`, async () => state.steps >= state.totalSteps * fraction, 180_000);

    await reached(0.15);
    const worker = cluster.workers[0]!;
    const killedWorker = worker.pid!;
    process.kill(killedWorker, 'SIGKILL');
    await waitFor(
      'the killed worker to be started again',
      async () => worker.pid !== null && worker.pid !== killedWorker,
      60_000,
    );

    await reached(0.3);
    const api = cluster.apis[1]!;
    const killedApi = api.pid!;
    process.kill(killedApi, 'SIGKILL');
    await waitFor('the killed API to be started again', async () => api.pid !== null && api.pid !== killedApi, 60_000);

    await reached(0.45);
    await cluster.temporal.restart();

    await reached(0.5);
    const rolling = cluster.rollWorkers({ workflowsPath: new URL('./workflows-next.ts', import.meta.url).pathname });
    await waitFor(
      'the first worker to be restarted',
      async () => said.some((l) => l.includes('onto workflow bundle 2')),
      60_000,
    );
    loads.push(runPlan(send, actors, part(60, 65, []), state, 5));
    await rolling;
    const upgradedAt = Date.now();
    loads.push(runPlan(send, actors, part(65, 70, []), state, 5));

    await awaitLoad(
      Promise.all(loads).then(() => {}),
      state,
      300_000,
    );
    await waitAllClosed(client, TASK_QUEUE, 180_000);

    // The clients saw the API die and the server restart, and carried on.
    expect((state.traffic.retries.network ?? 0) + (state.traffic.retries['503'] ?? 0)).toBeGreaterThan(0);
    expect(said.join('\n')).toMatch(/worker 1 \(pid \d+\) died \(SIGKILL\)/);
    expect(said.join('\n')).toMatch(/API 2 \(pid \d+\) died \(SIGKILL\)/);
    await expectPlanFinishedOn(
      {
        client,
        db: database.db,
        taskQueue: TASK_QUEUE,
        ledger: async () =>
          ((await (await fetch(`${cluster.bankGatewayUrl}/ledger`)).json()) as { items: LedgerEntry[] }).items,
        workflowBundlePath: cluster.workflowBundlePath,
      },
      plan,
      state,
      onlyEventTimes,
    );
    expect((await client.workflow.count(`${caseWorkflows(TASK_QUEUE)} AND WorkflowType = 'AlertWorkflow'`)).count).toBe(
      plan.alerts.length,
    );

    // Alerts that started after the upgrade ran the next release; those before did not (and still finished).
    const onNext = async (alertId: string) =>
      (await client.workflow.getHandle(alertWorkflowId(alertId)).fetchHistory()).events!.some((e) =>
        (e.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? []).some((p) =>
          Buffer.from(p.data ?? [])
            .toString('utf8')
            .includes(NEXT_RELEASE_PATCH),
        ),
      );
    const started = await Promise.all(
      plan.alerts.map(async (a) => ({
        at: (await client.workflow.getHandle(alertWorkflowId(a.alertId)).describe()).startTime.getTime(),
        next: await onNext(a.alertId),
      })),
    );
    const before = started.filter((s) => s.at < upgradedAt - 30_000);
    const after = started.filter((s) => s.at > upgradedAt);
    expect(before.filter((s) => s.next).length, 'alerts begun well before the upgrade, on the next release').toBe(0);
    expect(after.filter((s) => !s.next).length, 'alerts begun after the upgrade, on the old release').toBe(0);
    expect(started.filter((s) => s.next).length, 'alerts on the next release').toBeGreaterThan(0);
    console.log(
      `cluster: ${state.totalSteps} steps; retries ${JSON.stringify(state.traffic.retries)}; ${started.filter((s) => s.next).length} alerts on the next release`,
    );
  }, 900_000);

  it('archives every closed run exactly once under the cluster’s 30-day retention, and the chain verifies', async () => {
    const described = await connection.workflowService.describeNamespace({ namespace: 'default' });
    expect(Number(described.config?.workflowExecutionRetentionTtl?.seconds)).toBe(30 * 86_400);
    const closed = (await client.workflow.count(`${caseWorkflows(TASK_QUEUE)} AND ExecutionStatus != 'Running'`)).count;
    expect(closed).toBeGreaterThan(0);
    const archived = async () => {
      const rows = await database.db
        .select({ runId: auditArchive.runId })
        .from(auditArchive)
        .where(inArray(auditArchive.workflowType, ['AlertWorkflow', 'StopPaymentWorkflow', 'HoldWorkflow']));
      return { runs: new Set(rows.map((r) => r.runId)).size, records: rows.length };
    };
    await waitFor(
      'every closed run to be archived',
      async () => {
        const now = await archived();
        if (now.runs < closed) throw new Error(`${now.runs} of ${closed} archived`);
        return true;
      },
      120_000,
    );
    expect(await archived()).toEqual({ runs: closed, records: closed });

    // The chain the archivers of both workers wrote, one after the other, holds: as the auditor sees it.
    const auditor = await userThroughApi(cluster.url, ADMIN_TOKEN, ['auditor']);
    const verified = await fetch(`${cluster.url}/v1/audit/archive/verify`, {
      headers: { authorization: `Bearer ${auditor.token}` },
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ ok: true });
  }, 300_000);
});
