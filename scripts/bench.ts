/**
 * `npm run bench`: what the API costs over the raw engine, and how the system holds up with many
 * open cases. Starts its own stack (a Temporal dev server and a PostgreSQL database on the local
 * server, a worker process and an API process) unless TEMPORAL_ADDRESS / DATABASE_URL are given.
 * Prints a Markdown table and writes the same as JSON under bench/results/.
 *
 *   npm run bench -- [--alerts 2000] [--concurrency 32] [--decisions 300] [--open 10000] [--stats-rows 300000]
 *                    [--target dev,cluster] [--phases engine,ingest,limit,decisions,freshness,open,console,replay,stats]
 *
 * `--target cluster` runs the engine and load phases (engine cost, ingest, decisions, queue freshness)
 * on a self-hosted Temporal Server on PostgreSQL (`npm run cluster`'s), once with one worker process and
 * once with two; `dev` runs every phase on the dev server. Both in one sitting make one dated result.
 * `--phases` runs some phases only (with what they need: decisions and replay need ingest's alerts, the
 * console needs the open cases); phases run separately can be merged into one dated result by hand.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import postgres from 'postgres';
import type { AlertInput } from '#domain/alert.js';
import { callResultUpdate, claimUpdate } from '#workflows/messages.js';
import { resolvePolicy } from '#domain/policy.js';
import { loadConfig, LOCAL_POSTGRES_URL, workerNodeFlags } from '#config/index.js';
import { WORKFLOWS_PATH } from '#worker/worker.js';
import { answer, fanzhaClient, type FanzhaClient, type RequestBody } from './api-client/index.js';
import { findOrBuildTemporalCli } from './temporal-cli.js';
import { LOAD_POLICY, scratch, scratchDatabase, spawnPart, writeLoadPolicy } from './bench/scratch.js';
import { freePort, startDevServerOnFreePort, type DevServer } from './temporal-dev-server.js';
import { generateYear } from './bench-year.js';
import { engineCostPerCase, engineLimit } from './bench-engine.js';
import { startCluster } from './cluster/cluster.js';
import { dropClusterDatabases, privateClusterPorts } from './cluster/temporal.js';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('alerts', 2000);
const C = arg('concurrency', 32);
const DECISIONS = arg('decisions', 300);
const OPEN = arg('open', 10_000);
const STATS_ROWS = arg('stats-rows', 300_000);
const TARGETS = (() => {
  const i = process.argv.indexOf('--target');
  const list = (i >= 0 ? process.argv[i + 1]! : 'dev').split(',');
  if (list.some((t) => t !== 'dev' && t !== 'cluster')) throw new Error('--target takes dev, cluster or dev,cluster');
  return list as ('dev' | 'cluster')[];
})();

const PHASE_NAMES = [
  'engine',
  'ingest',
  'limit',
  'decisions',
  'freshness',
  'open',
  'console',
  'replay',
  'stats',
] as const;
type Phase = (typeof PHASE_NAMES)[number];
const PHASES = (() => {
  const i = process.argv.indexOf('--phases');
  const list = i >= 0 ? process.argv[i + 1]!.split(',') : [...PHASE_NAMES];
  const unknown = list.filter((p) => !PHASE_NAMES.includes(p as Phase));
  if (unknown.length) throw new Error(`--phases: unknown ${unknown.join(', ')} (known: ${PHASE_NAMES.join(', ')})`);
  const chosen = new Set(list as Phase[]);
  // What a phase needs from another: the alerts ingested, the open cases.
  if (chosen.has('replay')) chosen.add('decisions');
  if (chosen.has('decisions')) chosen.add('ingest');
  if (chosen.has('console')) chosen.add('open');
  return chosen;
})();

type Roles = RequestBody<'/v1/users', 'post'>['roles'];

/** Where a bench run goes: the dev server (every phase), or a cluster with this many workers (engine and load). */
type Target = { kind: 'dev' } | { kind: 'cluster'; workers: number };
const say = (line: string) => console.error(`[bench] ${line}`);
// The bench's own workers (engine limit, replay) speak only of trouble.
Runtime.install({ logger: new DefaultLogger('WARN') });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function summarize(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  return { n: sorted.length, median: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** Runs `task(i)` for i in [0, count) with at most `concurrency` at once; returns per-task ms and wall ms. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const progress = setInterval(
    () => say(`   … ${latencies.length} of ${count} done (${((performance.now() - started) / 1000).toFixed(0)} s)`),
    15_000,
  );
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      while (next < count) {
        const i = next++;
        const t0 = performance.now();
        await task(i);
        latencies.push(performance.now() - t0);
      }
    }),
  ).finally(() => clearInterval(progress));
  return { latencies, wallMs: performance.now() - started };
}

function rssMb(pid: number | undefined): number | null {
  if (!pid) return null;
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb ? Math.round(Number(kb) / 1024) : null;
  } catch {
    return null;
  }
}

const round = (n: number) => Math.round(n * 10) / 10;
const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;

async function main(target: Target): Promise<Record<string, unknown>> {
  const workspace = scratch('fanzha-bench-');
  try {
    // --- the stack ------------------------------------------------------------------------------
    const policyFile = writeLoadPolicy(workspace);
    const adminToken = randomBytes(24).toString('base64url');
    const taskQueue = `bench-${randomBytes(4).toString('hex')}`;
    const appEnv = {
      FANZHA_ADMIN_TOKEN: adminToken,
      FANZHA_TASK_QUEUE: taskQueue,
      FANZHA_LOG_LEVEL: 'warn',
      FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
      FANZHA_POLICY_FILE: policyFile,
    };
    let devServer: DevServer | null = null;
    let worker: ReturnType<typeof spawnPart> | null = null;
    let api: ReturnType<typeof spawnPart> | null = null;
    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    let databaseUrl = process.env.DATABASE_URL;
    let base: string;
    const env = () => ({
      ...process.env,
      ...appEnv,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      // The bench measures the engine and the API; the banks are the simulator.
      FANZHA_BANK_SIMULATOR: '1',
      FANZHA_AUDIT_KEY: process.env.FANZHA_AUDIT_KEY || randomBytes(32).toString('hex'),
    });
    // Sized as `npm start` and `npm run cluster` size theirs (FANZHA_WORKER_MEMORY_MB).
    const startWorker = () => spawnPart('worker/main.ts', 'worker', env(), say, workerNodeFlags(loadConfig(env())));
    if (target.kind === 'cluster') {
      // Its own databases on the local server, its own processes: one API, `workers` workers.
      const name = `fanzha_bench_${Date.now().toString(36)}`;
      const adminUrl = LOCAL_POSTGRES_URL;
      const cluster = await startCluster({
        workers: target.workers,
        apis: 1,
        adminUrl,
        name,
        host: '127.0.0.1',
        ...(await privateClusterPorts(1)),
        historyShards: 16,
        retentionDays: 30,
        namespace: 'default',
        dataDir: workspace.dir,
        env: appEnv,
        log: say,
      });
      workspace.undo(async () => {
        await cluster.stop();
        await dropClusterDatabases(adminUrl, name);
      });
      temporalAddress = cluster.temporalAddress;
      databaseUrl = cluster.databaseUrl;
      base = cluster.apiUrls[0]!;
    } else {
      if (!temporalAddress) {
        devServer = await startDevServerOnFreePort({
          cliPath: await findOrBuildTemporalCli(say),
          dbFile: path.join(workspace.dir, 'temporal.sqlite'),
          headless: true,
          log: say,
        });
        workspace.undo(() => devServer!.stop());
        temporalAddress = devServer.address;
      }
      databaseUrl ??= await scratchDatabase(workspace, 'fanzha_bench');
      const port = await freePort();
      worker = startWorker();
      workspace.undo(() => worker?.stop());
      api = spawnPart('api/server.ts', 'api', { ...env(), PORT: String(port) }, say);
      workspace.undo(() => api?.stop());
      base = `http://127.0.0.1:${port}`;
    }
    for (let i = 0; ; i++) {
      const ready = await fanzhaClient(base)
        .GET('/readyz')
        .then((r) => r.response.ok)
        .catch(() => false);
      if (ready) break;
      if (i > 600) throw new Error('the API did not become ready');
      await sleep(200);
    }
    const admin = fanzhaClient(base, adminToken);
    const user = async (roles: Roles) => {
      const created = await answer(admin.POST('/v1/users', { body: { name: `bench ${roles[0]}`, roles } }));
      const path = { userId: created.userId };
      const { token } = await answer(admin.POST('/v1/users/{userId}/tokens', { params: { path }, body: {} }));
      return { userId: created.userId, name: created.name, token, api: fanzhaClient(base, token) };
    };
    const platform = await user(['platform']);
    const operator = await user(['operator']);
    const supervisor = await user(['supervisor']);
    const connection = await Connection.connect({ address: temporalAddress! });
    workspace.undo(() => connection.close());
    const client = new Client({ connection });
    const policy = resolvePolicy(LOAD_POLICY).alert;
    const alertInput = (id: string, stationId = 'bench-01'): AlertInput => ({
      alertId: id,
      source: 'ministry',
      issuedAt: new Date().toISOString(),
      riskLevel: 'medium',
      fraudType: 'investment',
      victim: { phone: '13812345678' },
      stationId,
    });
    const ingest = (id: string, stationId?: string) =>
      answer(platform.api.POST('/v1/alerts', { body: alertInput(id, stationId) })).then(() => undefined);
    const startRaw = (id: string) =>
      client.workflow.start('AlertWorkflow', {
        taskQueue,
        workflowId: `alert-${id}`,
        args: [{ alert: alertInput(id), receivedAt: new Date().toISOString(), policy }],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    const actor = { userId: operator.userId, name: operator.name, role: 'operator' as const };
    const results: Record<string, unknown> = {};
    const run = randomBytes(3).toString('hex');

    const sql = postgres(databaseUrl!, { max: 2, onnotice: () => {} });
    workspace.undo(() => sql.end());
    const projected = async (prefix: string, state?: string) =>
      Number(
        (
          await sql`select count(*) as n from alerts where alert_id like ${`${prefix}%`} and (${state ?? null}::text is null or state = ${state ?? null})`
        )[0]!.n,
      );
    /**
     * Waits until the worker has projected every alert started under `prefix`: each phase starts on an
     * idle system, so that neither side of a comparison pays for the other's backlog.
     */
    const drained = async (prefix: string, count: number, state?: string) => {
      const t0 = performance.now();
      let told = t0;
      for (let done = await projected(prefix, state); done < count; done = await projected(prefix, state)) {
        if (performance.now() - told > 15_000) {
          say(`   … ${done} of ${count} ${state ?? 'projected'} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
          told = performance.now();
        }
        await sleep(250);
      }
      await sleep(1000);
      return performance.now() - t0;
    };

    // warm-up: bundles, JIT, connection pools (for every phase but the statistics, which reads the database only)
    if ([...PHASES].some((phase) => phase !== 'stats')) {
      await pool(50, 8, (i) => ingest(`W${run}-${i}`));
      await pool(50, 8, (i) => startRaw(`WR${run}-${i}`).then(() => undefined));
      await drained(`W${run}-`, 50);
      await drained(`WR${run}-`, 50);
    }

    // --- 0. the engine's cost per case ------------------------------------------------------------
    if (PHASES.has('engine')) {
      say('0/6 engine cost: one alert on the happy path and one on the visit path, counted from their histories');
      const engineCost = await engineCostPerCase({
        client,
        push: (id) => ingest(id),
        asOperator: operator.api,
        // The supervisor may report a visit for any station (DESIGN.md §8).
        asStation: supervisor.api,
        idPrefix: `E${run}`,
      });
      results.engineCost = engineCost;
      say(`   happy path ${JSON.stringify(engineCost.happy)}, visit path ${JSON.stringify(engineCost.visit)}`);
    }

    // --- 1. ingest ------------------------------------------------------------------------------
    if (PHASES.has('ingest')) {
      say(`1/6 ingest: ${N} alerts through the API and ${N} started directly, concurrency ${C}`);
      const viaApi = await pool(N, C, (i) => ingest(`A${run}-${i}`));
      const apiDrain = await drained(`A${run}-`, N);
      const viaRaw = await pool(N, C, (i) => startRaw(`R${run}-${i}`).then(() => undefined));
      const rawDrain = await drained(`R${run}-`, N);
      const apiRate = (N / viaApi.wallMs) * 1000;
      const rawRate = (N / viaRaw.wallMs) * 1000;
      // Sustained: from the first request until every alert is in the queue (its workflow has run its first
      // steps and they are projected), i.e. what the whole system keeps up with, not just accepting.
      const sustained = (wallMs: number, drainMs: number) => round((N / (wallMs + drainMs - 1000)) * 1000);
      results.ingest = {
        api: {
          perSecond: round(apiRate),
          sustainedPerSecond: sustained(viaApi.wallMs, apiDrain),
          ...summarize(viaApi.latencies),
        },
        raw: {
          perSecond: round(rawRate),
          sustainedPerSecond: sustained(viaRaw.wallMs, rawDrain),
          ...summarize(viaRaw.latencies),
        },
        ratio: ratio(apiRate, rawRate),
      };
    }

    // --- 1b. the engine's limit -------------------------------------------------------------------
    if (PHASES.has('limit')) {
      say(`1b/6 engine limit: ${N} minimal workflows (start, one task, one timer), concurrency ${C}, own worker`);
      const native = await NativeConnection.connect({ address: temporalAddress! });
      try {
        results.engineLimit = await engineLimit({
          client,
          connection: native,
          count: N,
          concurrency: C,
          idPrefix: `M${run}`,
          pool,
        });
      } finally {
        await native.close();
      }
      say(`   ${JSON.stringify(results.engineLimit)}`);
    }

    // --- 2. decisions -----------------------------------------------------------------------------
    if (PHASES.has('decisions')) {
      say(
        `2/6 decisions: claim + call-result on ${DECISIONS} alerts through the API and directly, at concurrency ${C} and alone`,
      );
      const decideViaApi = async (i: number) => {
        const id = `A${run}-${i}`;
        const params = { path: { alertId: id } };
        await answer(operator.api.POST('/v1/alerts/{alertId}/claim', { params, body: {} }));
        await answer(
          operator.api.POST('/v1/alerts/{alertId}/call-result', {
            params,
            body: { result: 'contacted', outcome: 'dissuaded' },
          }),
        );
      };
      const decideRaw = async (i: number) => {
        const handle = client.workflow.getHandle(`alert-R${run}-${i}`);
        await handle.executeUpdate(claimUpdate, { args: [{ actor }] });
        await handle.executeUpdate(callResultUpdate, { args: [{ actor, result: 'contacted', outcome: 'dissuaded' }] });
      };
      const apiDecisions = await pool(DECISIONS, C, decideViaApi);
      await drained(`A${run}-`, DECISIONS, 'closed');
      const rawDecisions = await pool(DECISIONS, C, decideRaw);
      await drained(`R${run}-`, DECISIONS, 'closed');
      // One operator at a time: what the API itself adds to a decision when nothing queues for the CPU.
      const ALONE = Math.min(50, N - DECISIONS);
      const apiAlone = await pool(ALONE, 1, (i) => decideViaApi(DECISIONS + i));
      const rawAlone = await pool(ALONE, 1, (i) => decideRaw(DECISIONS + i));
      await drained(`R${run}-`, DECISIONS + ALONE, 'closed');
      const apiD = summarize(apiDecisions.latencies);
      const rawD = summarize(rawDecisions.latencies);
      const apiA = summarize(apiAlone.latencies);
      const rawA = summarize(rawAlone.latencies);
      results.decisions = {
        api: apiD,
        raw: rawD,
        ratio: ratio(apiD.median, rawD.median),
        alone: { api: apiA, raw: rawA, ratio: ratio(apiA.median, rawA.median) },
      };
    }

    // --- 3. queue freshness -------------------------------------------------------------------------
    if (PHASES.has('freshness')) {
      say('3/6 queue freshness: 201 → visible in GET /v1/alerts');
      const freshness: number[] = [];
      for (let i = 0; i < 100; i++) {
        const station = `fresh-${run}-${i}`;
        await ingest(`F${run}-${i}`, station);
        const t1 = performance.now();
        for (;;) {
          const list = await answer(supervisor.api.GET('/v1/alerts', { params: { query: { stationId: station } } }));
          if (list.items.length > 0) break;
          await sleep(2);
        }
        freshness.push(performance.now() - t1);
      }
      results.queueFreshness = summarize(freshness);
    }

    if (target.kind === 'cluster') return results;

    // --- 4. open cases held -----------------------------------------------------------------------------
    if (PHASES.has('open')) {
      say(`4/6 open cases: starting ${OPEN} alerts that wait on their timers`);
      const openStart = await pool(OPEN, 64, (i) => startRaw(`O${run}-${i}`).then(() => undefined));
      const settled = await drained(`O${run}-`, OPEN);
      await sleep(2000);
      const memory = {
        workerMb: rssMb(worker?.child.pid),
        apiMb: rssMb(api?.child.pid),
        temporalMb: rssMb(devServer?.pid),
      };
      say(`   restarting the worker with ${OPEN} open`);
      await worker?.stop();
      worker = startWorker();
      const restartAt = performance.now();
      // Served again = a decision on open alerts answers (each needs the new worker to rebuild its state).
      const sample = Array.from({ length: 100 }, (_, k) => Math.floor((k * OPEN) / 100));
      await pool(sample.length, 16, async (k) => {
        const handle = client.workflow.getHandle(`alert-O${run}-${sample[k]}`);
        await handle.executeUpdate(claimUpdate, { args: [{ actor }] });
      });
      results.openCases = {
        count: OPEN,
        startPerSecond: round((OPEN / openStart.wallMs) * 1000),
        startSeconds: round(openStart.wallMs / 1000),
        projectedAfterStartSeconds: round(settled / 1000),
        ...memory,
        workerRestartToServedSeconds: round((performance.now() - restartAt) / 1000),
      };

      // --- 4b. the console with the open alerts queued ----------------------------------------------------
      // Beside each alert the restart check claimed: still queued.
      if (PHASES.has('console'))
        say(`4b/6 console: pages rendered with ${OPEN} open alerts, and a decision reaching another page`);
      if (PHASES.has('console')) results.console = await benchConsole(base, user, (k) => `O${run}-${sample[k]! + 1}`);
    }

    // --- 5. replay ----------------------------------------------------------------------------------------
    if (PHASES.has('replay')) {
      say('5/6 replay: closed histories replayed against the current code, in one replay worker on one bundle');
      const histories = [];
      for (let i = 0; i < Math.min(200, DECISIONS); i++) {
        const workflowId = `alert-A${run}-${i}`;
        histories.push({ workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() });
      }
      // Bundled once, as the auditors' replayer does (audit/replay.ts): the bundling is not the replay.
      const bundleStart = performance.now();
      const { code } = await bundleWorkflowCode({
        workflowsPath: WORKFLOWS_PATH,
        logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
      });
      const bundleSeconds = (performance.now() - bundleStart) / 1000;
      const replayStart = performance.now();
      let replayed = 0;
      for await (const result of Worker.runReplayHistories(
        { workflowBundle: { code }, replayName: 'bench' },
        histories,
      )) {
        if (result.error) throw result.error;
        replayed++;
      }
      results.replay = {
        histories: replayed,
        perSecond: round((replayed / (performance.now() - replayStart)) * 1000),
        bundleSeconds: round(bundleSeconds),
      };
    }

    // --- 6. stats over a year ---------------------------------------------------------------------------------
    if (PHASES.has('stats')) {
      results.stats = await benchStats(sql, supervisor.api, `Y${run}`);
    }

    return results;
  } finally {
    await workspace.cleanup();
  }
}

/** Phase 6: `GET /v1/stats` over a year of STATS_ROWS alerts, generated into the read model. */
async function benchStats(sql: postgres.Sql, api: FanzhaClient, prefix: string) {
  say(`6/6 stats: ${STATS_ROWS} alerts over a year in the read model`);
  const generating = performance.now();
  await generateYear(sql, prefix, STATS_ROWS);
  say(`   generated (and rolled up) in ${Math.round((performance.now() - generating) / 1000)} s`);
  const statsTimes: number[] = [];
  const to = new Date();
  const from = new Date(to.getTime() - 365 * 86_400_000);
  for (let i = 0; i < 22; i++) {
    const t0 = performance.now();
    await answer(api.GET('/v1/stats', { params: { query: { from: from.toISOString(), to: to.toISOString() } } }));
    statsTimes.push(performance.now() - t0);
  }
  return { rows: STATS_ROWS, ...summarize(statsTimes.slice(2)) };
}

// --- the run: each target in turn (never side by side on two cores), one dated result ---------------------
const targets: Record<string, Record<string, unknown>> = {};
for (const kind of TARGETS) {
  if (kind === 'dev') {
    say('target dev: the Temporal dev server (SQLite), one worker, one API');
    targets.dev = await main({ kind: 'dev' });
  } else
    for (const workers of [1, 2]) {
      say(`target cluster: Temporal Server on PostgreSQL, ${workers} worker process(es), one API`);
      targets[`cluster${workers}`] = await main({ kind: 'cluster', workers });
    }
}
const machine = `${os.cpus().length} × ${os.cpus()[0]?.model.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
const report = {
  at: new Date().toISOString(),
  machine,
  parameters: {
    alerts: N,
    concurrency: C,
    decisions: DECISIONS,
    open: OPEN,
    statsRows: STATS_ROWS,
    targets: TARGETS,
    phases: [...PHASES],
    // The worker's memory knob, when the run set it (README, "Worker memory").
    workerMemoryMb: process.env.FANZHA_WORKER_MEMORY_MB ?? 'default',
    workerCachedWorkflows: process.env.FANZHA_WORKER_CACHED_WORKFLOWS ?? 'default',
  },
  // Where the dev server ran, its results stay where they always were (earlier results compare).
  results: targets.dev ?? {},
  ...(targets.cluster1 ? { cluster: { oneWorker: targets.cluster1, twoWorkers: targets.cluster2 } } : {}),
};
mkdirSync('bench/results', { recursive: true });
const stamp = report.at.replace(/[:.]/g, '-');
writeFileSync(`bench/results/${stamp}.json`, `${JSON.stringify(report, null, 2)}\n`);
// latest.json is the last whole run (README's table); a run of some phases is only its dated file.
if (PHASES.size === PHASE_NAMES.length)
  writeFileSync('bench/results/latest.json', `${JSON.stringify(report, null, 2)}\n`);
console.log(markdown(report));

function markdown(report: any): string {
  const ms = (x: number) => `${round(x)} ms`;
  const lines = Object.keys(report.results).length
    ? devTable(report)
    : [`Benchmark of ${report.at} on ${report.machine}`];
  if (report.cluster) {
    const row = (label: string, r: any) =>
      `| ${label} | ${r.engineCost ? `${r.engineCost.happy.workflowTasks} / ${r.engineCost.happy.historyBytes} B` : '–'} | ${r.ingest ? `${r.ingest.api.perSecond}/s accepted, ${r.ingest.api.sustainedPerSecond}/s in the queue (raw ${r.ingest.raw.sustainedPerSecond}/s)` : '–'} | ${r.decisions ? `${ms(r.decisions.api.median)} / ${ms(r.decisions.api.p95)}` : '–'} | ${r.decisions ? ms(r.decisions.alone.api.median) : '–'} | ${r.queueFreshness ? ms(r.queueFreshness.median) : '–'} |`;
    lines.push(
      '',
      '| target | happy path: WFT / history | ingest through the API | decisions under load, median / p95 | decision alone, median | queue freshness, median |',
      '|---|---|---|---|---|---|',
      ...(Object.keys(report.results).length ? [row('dev server (SQLite), 1 worker', report.results)] : []),
      row('Temporal Server on PostgreSQL, 1 worker', report.cluster.oneWorker),
      row('Temporal Server on PostgreSQL, 2 workers', report.cluster.twoWorkers),
    );
  }
  return lines.join('\n');
}

function devTable(report: any): string[] {
  const r = report.results;
  const ms = (x: number) => `${round(x)} ms`;
  const timed = (what: string, t: any, other = '') =>
    `| ${what} | ${ms(t.median)} | ${ms(t.p95)} | ${ms(t.p99)} | ${other} |`;
  return [
    `Benchmark of ${report.at} on ${report.machine}`,
    ...(r.engineCost
      ? [
          '',
          '| engine cost per alert | workflow tasks | activities | history events | history bytes |',
          '|---|---|---|---|---|',
          ...(['happy', 'visit'] as const).map((p) => {
            const c = r.engineCost[p];
            return `| ${p === 'happy' ? 'happy path (claim, dissuaded)' : 'visit path (claim, refused, visit)'} | ${c.workflowTasks} | ${c.activities} | ${c.events} | ${c.historyBytes} |`;
          }),
        ]
      : []),
    ...timedTable([
      ...(r.ingest
        ? [
            timed(
              `ingest through the API (${report.parameters.alerts} alerts, concurrency ${report.parameters.concurrency})`,
              r.ingest.api,
              `${r.ingest.api.perSecond}/s accepted, ${r.ingest.api.sustainedPerSecond}/s in the queue`,
            ),
            timed(
              'ingest started directly with the client',
              r.ingest.raw,
              `${r.ingest.raw.perSecond}/s accepted, ${r.ingest.raw.sustainedPerSecond}/s in the queue (API/raw ${r.ingest.ratio})`,
            ),
          ]
        : []),
      ...(r.engineLimit
        ? [
            `| the engine's limit: minimal workflows (start, one task, one timer), same count and concurrency | | | | ${r.engineLimit.acceptedPerSecond}/s accepted, ${r.engineLimit.firstTaskPerSecond}/s through their first task |`,
          ]
        : []),
      ...(r.decisions
        ? [
            timed('claim + call-result through the API', r.decisions.api),
            timed('the same two Updates sent directly', r.decisions.raw, `API/raw ${r.decisions.ratio}`),
            timed('claim + call-result through the API, one operator alone', r.decisions.alone.api),
            timed(
              'the same two Updates sent directly, alone',
              r.decisions.alone.raw,
              `API/raw ${r.decisions.alone.ratio}`,
            ),
          ]
        : []),
      ...(r.queueFreshness ? [timed('queue freshness (201 → in GET /v1/alerts)', r.queueFreshness)] : []),
      ...(r.openCases
        ? [
            `| ${r.openCases.count} open alerts on timers | | | | started at ${r.openCases.startPerSecond}/s, all in the queue ${r.openCases.projectedAfterStartSeconds} s later; RSS worker ${r.openCases.workerMb} MB, API ${r.openCases.apiMb} MB, Temporal ${r.openCases.temporalMb ?? '–'} MB; worker restart → served in ${r.openCases.workerRestartToServedSeconds} s |`,
          ]
        : []),
      ...(r.console
        ? [
            timed(
              `console: the operator's page (${r.openCases.count} open alerts)`,
              r.console.operatorPage,
              'whole page, server side',
            ),
            timed("console: the approver's page", r.console.approverPage),
            timed('console: a decision reaching another page (answer → SSE event)', r.console.decisionToEvent),
          ]
        : []),
      ...(r.replay
        ? [
            `| replay of closed histories (one replay worker, one bundle) | | | | ${r.replay.perSecond} histories/s (${r.replay.histories}; bundling once ${r.replay.bundleSeconds ?? '–'} s) |`,
          ]
        : []),
      ...(r.stats ? [timed(`GET /v1/stats over a year (${r.stats.rows} alerts)`, r.stats)] : []),
    ]),
    ...goalsTable(r, report.parameters.concurrency),
  ];
}

/** The timed rows under their header, or nothing when the run measured none of them. */
function timedTable(rows: string[]): string[] {
  return rows.length
    ? ['', '| what | median | p95 | p99 | throughput / other |', '|---|---|---|---|---|', ...rows]
    : [];
}

/** Issue 17's figures against their goals, from what this run measured (a figure not measured is left out). */
function goalsTable(r: any, concurrency: number): string[] {
  const perRequest = r.decisions && round((r.decisions.alone.api.median - r.decisions.alone.raw.median) / 2);
  const rows: [string, unknown, string, boolean][] = [];
  if (r.ingest) rows.push(['ingest accepted, API / raw client', r.ingest.ratio, '≥ 0.95', r.ingest.ratio >= 0.95]);
  if (r.decisions) {
    rows.push(['one operator alone, API − raw per request (median)', `${perRequest} ms`, '≤ 3 ms', perRequest <= 3]);
    rows.push([
      `${concurrency} operators, decision round trip API / raw (median)`,
      r.decisions.ratio,
      '≤ 1.10',
      r.decisions.ratio <= 1.1,
    ]);
  }
  if (r.openCases)
    rows.push([
      `worker RSS with ${r.openCases.count} open alerts`,
      `${r.openCases.workerMb} MB`,
      '< 512 MB',
      r.openCases.workerMb < 512,
    ]);
  if (r.stats)
    rows.push([
      `GET /v1/stats over a year (${r.stats.rows} alerts), p95`,
      `${round(r.stats.p95)} ms`,
      '< 50 ms',
      r.stats.p95 < 50,
    ]);
  if (r.replay)
    rows.push(['replay of closed histories', `${r.replay.perSecond}/s`, '≥ 200/s', r.replay.perSecond >= 200]);
  if (r.ingest)
    rows.push([
      `alerts in the queue per second, sustained${r.engineLimit ? ` (engine limit: ${r.engineLimit.firstTaskPerSecond}/s)` : ''}`,
      `${r.ingest.api.sustainedPerSecond}/s`,
      '≥ 60/s',
      r.ingest.api.sustainedPerSecond >= 60,
    ]);
  if (rows.length === 0) return [];
  return [
    '',
    '| figure | now | goal | met |',
    '|---|---|---|---|',
    ...rows.map(([figure, now, goal, met]) => `| ${figure} | ${String(now)} | ${goal} | ${met ? 'yes' : 'no'} |`),
  ];
}

/** A console session opened the way a person opens one ("Sign in with a token"): its cookie header. */
async function consoleSession(base: string, token: string): Promise<string> {
  const page = await fetch(`${base}/sign-in`);
  const csrfCookie = (page.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="csrf-token" content="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  const signedIn = await fetch(`${base}/sign-in/token`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie: csrfCookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, token }),
  });
  const session = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!;
  if (!session.startsWith('fz_session=')) throw new Error(`console sign-in failed: ${signedIn.status}`);
  return session;
}

/**
 * Server-side render time of the operator's and the approver's pages (whole pages, with the queue
 * behind them), and how long a decision takes to reach another connected page: from the decision's
 * answer to the Server-Sent Event arriving on an operator's open /live stream.
 */
async function benchConsole(
  base: string,
  user: (roles: Roles) => Promise<{ token: string; api: FanzhaClient }>,
  openAlertId: (k: number) => string,
) {
  const [watcher, approver, deciding] = await Promise.all([user(['operator']), user(['approver']), user(['operator'])]);
  const [operatorCookie, approverCookie] = await Promise.all([
    consoleSession(base, watcher.token),
    consoleSession(base, approver.token),
  ]);
  const render = async (path: string, cookie: string) => {
    const times: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const response = await fetch(`${base}${path}`, { headers: { cookie } });
      await response.text();
      if (response.status !== 200) throw new Error(`${path}: ${response.status}`);
      times.push(performance.now() - t0);
    }
    return summarize(times.slice(10));
  };
  const operatorPage = await render('/operator', operatorCookie);
  const approverPage = await render('/approver', approverCookie);

  // One open stream, as a page keeps it; a pump notes when each change event arrives.
  const stream = await fetch(`${base}/live`, { headers: { cookie: operatorCookie, accept: 'text/event-stream' } });
  const reader = stream.body!.getReader();
  const decoder = new TextDecoder();
  const arrivals: number[] = [];
  let buffered = '';
  const pump = (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      buffered += decoder.decode(value, { stream: true });
      let at: number;
      while ((at = buffered.indexOf('\n\n')) >= 0) {
        if (buffered.slice(0, at).includes('event: change')) arrivals.push(performance.now());
        buffered = buffered.slice(at + 2);
      }
    }
  })();
  const latencies: number[] = [];
  for (let k = 0; k < 40; k++) {
    const started = performance.now();
    await answer(
      deciding.api.POST('/v1/alerts/{alertId}/claim', { params: { path: { alertId: openAlertId(k) } }, body: {} }),
    );
    const answered = performance.now();
    let arrived: number | undefined;
    for (let waited = 0; (arrived = arrivals.find((t) => t >= started)) === undefined; waited += 5) {
      if (waited > 10_000) throw new Error('no live event within 10 s of a decision');
      await sleep(5);
    }
    // An event can come before the answer does: it reached the page no later than the decider.
    latencies.push(Math.max(0, arrived - answered));
    await sleep(200);
    arrivals.length = 0;
  }
  await reader.cancel();
  await pump;
  return { operatorPage, approverPage, decisionToEvent: summarize(latencies) };
}
