/**
 * A complete system for one test file, all real: its own PostgreSQL database (cloned from the run's
 * migrated template), the run's Temporal dev server, a worker on a private task queue, and the API.
 */
import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import postgres from 'postgres';
import { inject } from 'vitest';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp } from '#api/app.js';
import { loadConfig, type FanzhaConfig } from '#config/index.js';
import { openDatabase, type DatabaseHandle } from '#db/client.js';
import { createUserStore, type User } from '#db/users.js';
import type { Role } from '#domain/roles.js';
import { resolvePolicy } from '#domain/policy.js';
import { clientInterceptors } from '#services/temporal-client.js';
import { createFanzhaWorker, type FanzhaWorkerOptions } from '#worker/worker.js';
import { databaseUrl } from '../global-setup.js';

let runtimeInstalled = false;
function quietRuntime() {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // already installed in this process
  }
}

/** A fresh database cloned from the migrated template: fast, and isolated from other test files. */
export async function createTestDatabase(): Promise<string> {
  const name = `${inject('templateDatabase')}_${randomBytes(4).toString('hex')}`;
  const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`create database ${name} template ${inject('templateDatabase')}`);
  } finally {
    await admin.end();
  }
  return databaseUrl(inject('adminDatabaseUrl'), name);
}

export interface StackOptions {
  /** Policy override (DESIGN.md §7 shape), usually short durations. */
  policy?: unknown;
  env?: Record<string, string>;
  worker?: boolean;
  /** Another Temporal server than the run's shared one (e.g. a test that restarts its own). */
  temporalAddress?: string;
  activities?: FanzhaWorkerOptions['activities'];
  /** The worker's traces (services/tracing.ts); its workflows need a bundle built with their interceptors. */
  tracing?: FanzhaWorkerOptions['tracing'];
  /** Instead of the run's prebuilt bundle. */
  workflowBundlePath?: string;
}

export interface Caller {
  user: User;
  token: string;
}

export interface Stack {
  config: FanzhaConfig;
  database: DatabaseHandle;
  app: FastifyInstance;
  client: Client;
  databaseUrl: string;
  /** http://127.0.0.1:<port> of the listening API. */
  baseUrl: string;
  /** Starts a(nother) worker on the stack's task queue. */
  startWorker(): Promise<Worker>;
  stopWorker(): Promise<void>;
  user(roles: Role[], options?: { name?: string; stationId?: string }): Promise<Caller>;
  request(caller: Caller | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

export async function startStack(options: StackOptions = {}): Promise<Stack> {
  quietRuntime();
  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const url = await createTestDatabase();
  const config = loadConfig({
    DATABASE_URL: url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    FANZHA_TASK_QUEUE: `test-${randomBytes(6).toString('hex')}`,
    FANZHA_LOG_LEVEL: 'silent',
    FANZHA_DATA_DIR: '/tmp/fanzha-test-unused',
    // This API shares its event loop with the test itself (workflow bundling, fixtures): load shedding
    // would measure the test, not the API. tests/platform/readiness.test.ts turns it on to test it.
    FANZHA_MAX_EVENT_LOOP_DELAY_MS: '0',
    // Every test speaks from 127.0.0.1, and many check 401s on purpose; the throttle has a test of its own.
    FANZHA_AUTH_FAILURES_PER_MINUTE: '1000000',
    // The banks are the simulator, served by this API (the reliability tests' processes use it as their gateway).
    FANZHA_BANK_SIMULATOR: '1',
    FANZHA_AUDIT_KEY: 'fanzha-test-audit-key-0123456789abcdef', // as tests/helpers/processes.ts gives its processes
    ...options.env,
  });
  config.policy = resolvePolicy(options.policy ?? {});
  const database = await openDatabase({ url, dataDir: config.dataDir, poolSize: 5 });
  const connection = await Connection.connect({ address: temporalAddress });
  const client = new Client({ connection, namespace: 'default', interceptors: clientInterceptors(config) });
  const app = await buildApp({ config, database, temporal: client, logger: false });
  // Listening for real: the worker reaches the bank simulator over HTTP, as in the embedded default.
  await app.listen({ host: '127.0.0.1', port: 0 });
  config.port = (app.server.address() as { port: number }).port;
  const users = createUserStore(database.db);

  let worker: { worker: Worker; running: Promise<void>; connection: NativeConnection } | null = null;
  const stack: Stack = {
    config,
    database,
    app,
    client,
    databaseUrl: url,
    baseUrl: `http://127.0.0.1:${config.port}`,
    async startWorker() {
      const workerConnection = await NativeConnection.connect({ address: temporalAddress });
      const created = await createFanzhaWorker({
        config,
        connection: workerConnection,
        deps: { db: database.db },
        workflowBundle: { codePath: options.workflowBundlePath ?? inject('workflowBundlePath') },
        activities: options.activities,
        tracing: options.tracing,
      });
      worker = { worker: created, running: created.run(), connection: workerConnection };
      return created;
    },
    async stopWorker() {
      if (!worker) return;
      const current = worker;
      worker = null;
      if (current.worker.getState() === 'RUNNING') current.worker.shutdown();
      await current.running;
      await current.connection.close();
    },
    async user(roles, opts = {}) {
      const user = await users.create({
        name: opts.name ?? `${roles.join('+')} ${randomBytes(2).toString('hex')}`,
        roles,
        stationId: opts.stationId ?? null,
      });
      const { token } = await users.issueToken(user.userId, 'test');
      return { user, token };
    },
    request(caller, injectOptions) {
      const headers = { ...(injectOptions.headers ?? {}) } as Record<string, string>;
      if (caller) headers.authorization = `Bearer ${caller.token}`;
      return app.inject({ ...injectOptions, headers });
    },
    async close() {
      await stack.stopWorker();
      await app.close();
      await connection.close();
      await database.close();
    },
  };
  if (options.worker !== false) await stack.startWorker();
  return stack;
}
