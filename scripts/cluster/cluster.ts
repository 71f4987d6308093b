/**
 * A multi-process Fanzha on a self-hosted Temporal Server (README "At scale"): the Temporal server on
 * PostgreSQL, the bank simulator (unless BANK_GATEWAY_URL), N workers and M API processes, each kept
 * running with backoff, and one balancing address in front. `npm run cluster` runs it; the cluster test
 * starts it once and breaks it in every way it can.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig, workerNodeFlags } from '#config/index.js';
import { withDatabase } from '#db/client.js';
import { TRACING_WORKFLOW_INTERCEPTORS } from '#worker/tracing.js';
import { bundleWorkflowsApart, WORKFLOWS_PATH } from '#worker/worker.js';
import { findOrBuildTemporalServer } from '../temporal-server.js';
import { alive, createSupervisor, sleep, spawnGroup } from '../supervise.js';
import { startBalancer } from './balancer.js';
import {
  ensureDatabase,
  ensureNamespace,
  ensureTemporalSchemas,
  startTemporalServer,
  waitForFrontend,
  writeServerConfig,
} from './temporal.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const API_ENTRY = path.join(root, 'api/server.ts');
const WORKER_ENTRY = path.join(root, 'worker/main.ts');
const BANK_ENTRY = path.join(root, 'scripts/cluster/bank-simulator.ts');

export interface ClusterOptions {
  workers: number;
  apis: number;
  /** PostgreSQL whose user may create databases; the cluster's three databases are made on it. */
  adminUrl: string;
  /** Database names: `<name>_temporal`, `<name>_temporal_visibility` and `<name>` (Fanzha's own). */
  name: string;
  host: string;
  /** The balancer's port (the one address people and the platform use). */
  port: number;
  /** The APIs take the ports after it: port+1 … port+M; the bank simulator port+M+1. */
  temporalPort: number;
  historyShards: number;
  retentionDays: number;
  namespace: string;
  dataDir: string;
  /** More environment for the API and worker processes (policy file, admin token, log level…). */
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

export interface ClusterProcess {
  readonly name: string;
  /** The running process's pid (null between a death and its restart). */
  readonly pid: number | null;
  /** Stops it and waits; the supervisor does not start it again until restart(). */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
}

export interface Cluster {
  url: string;
  apiUrls: string[];
  temporalAddress: string;
  databaseUrl: string;
  bankGatewayUrl: string;
  temporal: ClusterProcess;
  workers: ClusterProcess[];
  apis: ClusterProcess[];
  logDir: string;
  /** The workflow bundle the workers run now (the one a replay of their histories must use). */
  readonly workflowBundlePath: string;
  /**
   * A rolling upgrade: bundles the workflow code now on disk (or `workflowsPath`), then restarts the
   * workers one at a time onto it, each new one polling before the next old one stops.
   */
  rollWorkers(options?: { workflowsPath?: string }): Promise<void>;
  stop(): Promise<void>;
}

/** The archive chain's key: FANZHA_AUDIT_KEY, else one kept (0600) in the cluster's data folder. */
/** Workers on one machine cannot share a metrics port: the n-th (from 0) serves on the given port + n. */
function workerMetricsAddress(env: NodeJS.ProcessEnv, n: number): NodeJS.ProcessEnv {
  const match = /^(.*):(\d+)$/.exec(env.FANZHA_WORKER_METRICS_ADDRESS ?? '');
  return match ? { FANZHA_WORKER_METRICS_ADDRESS: `${match[1]}:${Number(match[2]) + n}` } : {};
}

function auditKey(dir: string, env: NodeJS.ProcessEnv): string {
  if (env.FANZHA_AUDIT_KEY) return env.FANZHA_AUDIT_KEY;
  const file = path.join(dir, 'audit.key');
  try {
    writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return readFileSync(file, 'utf8').trim();
}

/**
 * The workflow bundle every worker of the cluster runs (version `version`); when the workers trace
 * (OTEL_* in `env`), with the tracing workflow interceptors in it, so their traces go on into the workflow.
 */
export async function bundleForWorkers(
  dir: string,
  workflowsPath: string,
  version: number,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const { code } = await bundleWorkflowsApart({
    workflowsPath,
    interceptorModules: loadConfig(env).tracing.enabled ? [TRACING_WORKFLOW_INTERCEPTORS] : [],
  });
  const file = path.join(dir, `workflow-bundle-${version}.js`);
  writeFileSync(file, code);
  return file;
}

async function waitForHttp(url: string, isAlive: () => boolean, timeoutMs = 120_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (!isAlive()) throw new Error(`it exited while starting`);
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(2_000) })).ok) return;
    } catch {
      // not yet
    }
    await sleep(250);
  }
  throw new Error(`${url} did not answer`);
}

export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const { log } = options;
  const dir = path.join(options.dataDir, 'cluster');
  const logDir = path.join(dir, 'logs');
  mkdirSync(logDir, { recursive: true });
  const supervisor = createSupervisor(log);
  const stops: (() => Promise<void>)[] = [];

  const bin = await findOrBuildTemporalServer(log);
  const temporalOptions = {
    adminUrl: options.adminUrl,
    database: `${options.name}_temporal`,
    visibilityDatabase: `${options.name}_temporal_visibility`,
    host: options.host,
    port: options.temporalPort,
    historyShards: options.historyShards,
    logLevel: 'warn' as const,
  };
  await ensureTemporalSchemas(bin, temporalOptions, log);
  writeServerConfig(dir, temporalOptions);
  const temporalAddress = `${options.host}:${options.temporalPort}`;
  const databaseUrl = withDatabase(options.adminUrl, options.name);
  // Fanzha's own database, beside Temporal's.
  await ensureDatabase(options.adminUrl, options.name);

  /** One supervised process: restarted with backoff when it dies, restarted on purpose by restart(). */
  const keep = (
    name: string,
    start: (env: NodeJS.ProcessEnv) => ReturnType<typeof spawnGroup>,
    ready: (child: ReturnType<typeof spawnGroup>) => Promise<void>,
  ): ClusterProcess & { started: Promise<void>; stop(): Promise<void> } => {
    let current: ReturnType<typeof spawnGroup> | null = null;
    let extraEnv: NodeJS.ProcessEnv = {};
    let firstReady!: () => void, firstFailed!: (error: unknown) => void;
    const started = new Promise<void>((resolve, reject) => ((firstReady = resolve), (firstFailed = reject)));
    let isFirst = true;
    const supervision = supervisor.keep(name, async () => {
      const child = start(extraEnv);
      current = child;
      try {
        await ready(child);
      } catch (error) {
        await child.stop(5_000);
        if (isFirst) firstFailed(new Error(`${name}: ${(error as Error).message} (log: ${logDir})`));
        throw error;
      }
      if (isFirst) firstReady();
      isFirst = false;
      return child;
    });
    return {
      name,
      started,
      get pid() {
        return current && alive(current.pid) ? current.pid : null;
      },
      async restart(env = {}) {
        extraEnv = { ...extraEnv, ...env };
        const old = current;
        await old?.stop(30_000);
        current = null;
        // The supervisor starts it again (after its backoff): wait until the new one is ready.
        for (;;) {
          await sleep(200);
          const now = current as ReturnType<typeof spawnGroup> | null;
          if (now && now !== old) {
            await ready(now).catch(() => {});
            return;
          }
        }
      },
      async stop() {
        await current?.stop(30_000);
        await supervision.stopped;
      },
    };
  };

  // --- Temporal -------------------------------------------------------------------------------------
  const temporal = keep(
    'the Temporal server',
    () => startTemporalServer(bin, dir, path.join(logDir, 'temporal.log')),
    (child) => waitForFrontend(temporalAddress, () => alive(child.pid)),
  );
  stops.push(() => temporal.stop());
  await temporal.started;
  await ensureNamespace(temporalAddress, options.namespace, options.retentionDays, log);

  // --- the bank simulator ------------------------------------------------------------------------------
  const bankPort = options.port + options.apis + 1;
  const bankGatewayUrl = options.env?.BANK_GATEWAY_URL ?? `http://${options.host}:${bankPort}/sim/bank`;
  const node = (entry: string, env: NodeJS.ProcessEnv, logName: string, nodeFlags: string[] = []) =>
    spawnGroup(process.execPath, ['--import', 'tsx', ...nodeFlags, entry], {
      env,
      logFile: path.join(logDir, `${logName}.log`),
    });
  if (!options.env?.BANK_GATEWAY_URL) {
    const bank = keep(
      'the bank simulator',
      () => node(BANK_ENTRY, { ...process.env, HOST: options.host, PORT: String(bankPort) }, 'bank-simulator'),
      (child) => waitForHttp(`http://${options.host}:${bankPort}/healthz`, () => alive(child.pid)),
    );
    stops.push(() => bank.stop());
    await bank.started;
  }

  // --- workers and APIs ----------------------------------------------------------------------------
  const common: NodeJS.ProcessEnv = {
    ...process.env,
    ...options.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: options.namespace,
    BANK_GATEWAY_URL: bankGatewayUrl,
    FANZHA_AUDIT_KEY: auditKey(dir, { ...process.env, ...options.env }),
    FANZHA_DATA_DIR: dir,
  };
  let bundleVersion = 1;
  let bundlePath = await bundleForWorkers(dir, WORKFLOWS_PATH, bundleVersion, common);
  // Worker readiness: its log says it polls (worker/main.ts prints it once the worker runs).
  const polling = async (child: ReturnType<typeof spawnGroup>, logFile: string, from: number) => {
    const until = Date.now() + 120_000;
    while (Date.now() < until) {
      if (!alive(child.pid)) throw new Error('it exited while starting');
      if (readFileSync(logFile, 'utf8').slice(from).includes('worker polling task queue')) return;
      await sleep(250);
    }
    throw new Error('it did not start polling');
  };
  const workers = Array.from({ length: options.workers }, (_, i) => {
    const logFile = path.join(logDir, `worker-${i + 1}.log`);
    let from = 0;
    return keep(
      `worker ${i + 1}`,
      (env) => {
        mkdirSync(logDir, { recursive: true });
        writeFileSync(logFile, '', { flag: 'a' });
        from = readFileSync(logFile, 'utf8').length;
        const workerEnv = { ...common, FANZHA_WORKFLOW_BUNDLE: bundlePath, ...workerMetricsAddress(common, i), ...env };
        return node(WORKER_ENTRY, workerEnv, `worker-${i + 1}`, workerNodeFlags(loadConfig(workerEnv)));
      },
      (child) => polling(child, logFile, from),
    );
  });
  const apiUrls = Array.from({ length: options.apis }, (_, i) => `http://${options.host}:${options.port + 1 + i}`);
  const apis = apiUrls.map((url, i) =>
    keep(
      `API ${i + 1}`,
      (env) =>
        node(
          API_ENTRY,
          { ...common, HOST: options.host, PORT: String(options.port + 1 + i), FANZHA_TRUST_PROXY: 'loopback', ...env },
          `api-${i + 1}`,
        ),
      (child) => waitForHttp(`${url}/healthz`, () => alive(child.pid)),
    ),
  );
  // Workers stop after the APIs (in-flight decisions finish), Temporal and the bank last.
  stops.push(async () => void (await Promise.all(workers.map((w) => w.stop()))));
  stops.push(async () => void (await Promise.all(apis.map((a) => a.stop()))));
  await Promise.all([...workers, ...apis].map((p) => p.started));

  // --- one address in front ------------------------------------------------------------------------
  let balancer: FastifyInstance | null = await startBalancer({
    host: options.host,
    port: options.port,
    upstreams: apiUrls,
  });
  const url = `http://${options.host}:${options.port}`;

  return {
    url,
    apiUrls,
    temporalAddress,
    databaseUrl,
    bankGatewayUrl,
    temporal,
    workers,
    apis,
    logDir,
    get workflowBundlePath() {
      return bundlePath;
    },
    async rollWorkers(roll = {}) {
      bundleVersion += 1;
      const next = await bundleForWorkers(dir, roll.workflowsPath ?? WORKFLOWS_PATH, bundleVersion, common);
      for (const worker of workers) {
        log(`rolling upgrade: ${worker.name} onto workflow bundle ${bundleVersion}`);
        await worker.restart({ FANZHA_WORKFLOW_BUNDLE: next });
      }
      bundlePath = next;
    },
    async stop() {
      supervisor.stop();
      await balancer?.close();
      balancer = null;
      for (const stop of stops.reverse()) await stop();
    },
  };
}
