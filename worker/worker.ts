/** The worker: task queue `fanzha` (configurable), bundled workflows/, activities from their dependencies. */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  type NativeConnectionOptions,
  type WorkerOptions,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '#activities/index.js';
import { createBackupActivities } from '#activities/backup.js';
import { createBankGateway } from '#activities/bank-gateway.js';
import { archiveKey, bankGatewayUrl, type FanzhaConfig } from '#config/index.js';
import type { DatabaseHandle } from '#db/client.js';
import type { Tracing } from '#services/tracing.js';
import { TRACING_WORKFLOW_INTERCEPTORS, workerTracingOptions } from './tracing.js';

/**
 * The SDK's own log (bundling, state changes) at WARN unless we are debugging: the app logs what matters.
 * With `metricsAddress` (FANZHA_WORKER_METRICS_ADDRESS) the SDK serves its metrics, and the activities'
 * (bank gateway calls), for Prometheus at http://<address>/metrics, in seconds and with `_total` counters.
 */
export function installWorkerRuntime(logLevel: string, metricsAddress: string | null = null) {
  const level = logLevel === 'debug' || logLevel === 'trace' ? 'DEBUG' : logLevel === 'silent' ? 'ERROR' : 'WARN';
  Runtime.install({
    logger: new DefaultLogger(level),
    ...(metricsAddress && {
      telemetryOptions: {
        metrics: {
          prometheus: { bindAddress: metricsAddress, useSecondsForDurations: true, countersTotalSuffix: true },
        },
      },
    }),
  });
}

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

/** Connects to Temporal, waiting for it to come up rather than failing a fresh start. */
export async function connectWorkerConnection(
  options: NativeConnectionOptions,
  log: (line: string) => void = console.error,
  giveUpAfterMs = 120_000,
): Promise<NativeConnection> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await NativeConnection.connect(options);
    } catch (error) {
      if (Date.now() - started > giveUpAfterMs) throw error;
      if (attempt === 1 || attempt % 10 === 0)
        log(`Waiting for Temporal at ${options.address ?? 'the configured address'}: ${(error as Error).message}`);
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 5_000)));
    }
  }
}

export interface FanzhaWorkerOptions {
  config: FanzhaConfig;
  connection: NativeConnection;
  deps: Pick<ActivityDeps, 'db'> & Partial<ActivityDeps>;
  /** A prebuilt bundle (tests build one per run); otherwise workflows/ is bundled now. */
  workflowBundle?: WorkerOptions['workflowBundle'];
  /** Tests may replace activities; the engine and the database stay real. */
  activities?: Partial<ReturnType<typeof createActivities>>;
  workerOptions?: Partial<WorkerOptions>;
  /** Traces of workflows and activities (services/tracing.ts startTracing); null/absent: none, at no cost. */
  tracing?: Tracing | null;
  /**
   * The scheduled backup's activity (activities/backup.ts), registered only by the worker in the process
   * that holds the embedded PGlite database (the one with dumpDataDir): no other process can dump it.
   */
  scheduledBackup?: { database: DatabaseHandle; log: (line: string) => void };
}

/**
 * A workflow bundle (of `workflowsPath`, workflows/ unless told), made by a child process: bundling in
 * the worker itself left webpack's heap behind in it (an idle worker held about 450 MB instead of 135;
 * README "Worker memory").
 */
export async function bundleWorkflowsApart(
  options: { interceptorModules?: string[]; workflowsPath?: string } = {},
): Promise<{ code: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'fanzha-bundle-'));
  try {
    const file = path.join(dir, 'workflows.js');
    const args = [BUNDLE_ENTRY, file, options.workflowsPath ?? WORKFLOWS_PATH, ...(options.interceptorModules ?? [])];
    await promisify(execFile)(process.execPath, ['--import', 'tsx', ...args], { maxBuffer: 16 * 2 ** 20 });
    return { code: await readFile(file, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
const BUNDLE_ENTRY = fileURLToPath(new URL('./bundle-workflows.ts', import.meta.url));

export async function createFanzhaWorker(options: FanzhaWorkerOptions): Promise<Worker> {
  const { config, connection, deps } = options;
  return Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue: config.temporal.taskQueue,
    workflowBundle:
      options.workflowBundle ??
      (await bundleWorkflowsApart({ interceptorModules: options.tracing ? [TRACING_WORKFLOW_INTERCEPTORS] : [] })),
    activities: {
      ...createActivities({
        bankGateway: createBankGateway({ baseUrl: bankGatewayUrl(config) }),
        auditKey: archiveKey(config),
        ...deps,
      }),
      ...(options.scheduledBackup?.database.dumpDataDir
        ? createBackupActivities({ config, ...options.scheduledBackup })
        : {}),
      ...options.activities,
    },
    shutdownGraceTime: '10s',
    // Bounded by the setting, not by the heap (the SDK's default would keep thousands of open alerts).
    maxCachedWorkflows: config.workerCachedWorkflows,
    ...(options.tracing ? workerTracingOptions(options.tracing) : {}),
    ...options.workerOptions,
  });
}
