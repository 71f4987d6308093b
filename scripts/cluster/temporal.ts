/**
 * A one-node Temporal Server on PostgreSQL for `npm run cluster`: its two databases and schemas
 * (created, or upgraded to the binary's version; a second start changes nothing), its configuration
 * from the repo's template (cluster/temporal.yaml), the server process, and the namespace with its
 * retention.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { status as grpcStatus } from '@grpc/grpc-js';
import postgres from 'postgres';
import { withDatabase } from '#db/client.js';
import type { TemporalServerBinaries } from '../temporal-server.js';
import { sleep, spawnGroup } from '../supervise.js';

const TEMPLATE = fileURLToPath(new URL('../../cluster/temporal.yaml', import.meta.url));
const DYNAMIC_CONFIG = fileURLToPath(new URL('../../cluster/dynamicconfig.yaml', import.meta.url));

export interface TemporalClusterOptions {
  /** A PostgreSQL URL whose user may create databases (its own database is not used). */
  adminUrl: string;
  database: string;
  visibilityDatabase: string;
  host: string;
  /** The frontend's gRPC port; the other services take the next ones (see ports()). */
  port: number;
  historyShards: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Every port one node binds, from the frontend's: P..P+3 gRPC, P+10 HTTP, P+20 metrics, P+100..P+103 membership. */
export function ports(port: number) {
  return {
    frontendPort: port,
    historyPort: port + 1,
    matchingPort: port + 2,
    workerPort: port + 3,
    frontendHttpPort: port + 10,
    metricsPort: port + 20,
    frontendMembershipPort: port + 100,
    historyMembershipPort: port + 101,
    matchingMembershipPort: port + 102,
    workerMembershipPort: port + 103,
  };
}

const portFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** A base port in [from, from+span) with base+offset free for every offset (a test's or a bench's cluster). */
export async function freePortBlock(from: number, span: number, offsets: number[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = from + Math.floor(Math.random() * span);
    if ((await Promise.all(offsets.map((o) => portFree(base + o)))).every(Boolean)) return base;
  }
  throw new Error('no free block of ports');
}

/** Ports for a private cluster: the front and M APIs and the bank after it; Temporal's (below 32768, where
 * Temporal keeps membership ports as a smallint). */
export async function privateClusterPorts(apis: number): Promise<{ port: number; temporalPort: number }> {
  const port = await freePortBlock(
    12_000,
    8_000,
    Array.from({ length: apis + 2 }, (_, i) => i),
  );
  const temporalPort = await freePortBlock(21_000, 8_000, Object.values(ports(0)));
  return { port, temporalPort };
}

/** `${name}` in the template, each a YAML scalar: numbers as they are, strings JSON-quoted. */
export function renderTemplate(template: string, values: Record<string, string | number>): string {
  return template.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    if (!(name in values)) throw new Error(`cluster/temporal.yaml names \${${name}}, which has no value`);
    const value = values[name]!;
    return typeof value === 'number' ? String(value) : JSON.stringify(value);
  });
}

/** Creates the database unless it is there. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const [found] = await sql`select 1 from pg_database where datname = ${name}`;
    if (!found) await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`);
  } catch (error) {
    // Two starts racing: the other one created it.
    if ((error as { code?: string }).code !== '42P04') throw error;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Drops a cluster's three databases (`<name>`, `<name>_temporal`, `<name>_temporal_visibility`): a test's or a bench's. */
export async function dropClusterDatabases(adminUrl: string, name: string): Promise<void> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    for (const db of [name, `${name}_temporal`, `${name}_temporal_visibility`])
      await sql.unsafe(`drop database if exists "${db.replace(/"/g, '""')}" with (force)`);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

async function hasSchemaVersion(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql`select to_regclass('public.schema_version') is not null as present`;
    return Boolean(row?.present);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Creates both databases and their schemas, or upgrades them to this server's version. */
export async function ensureTemporalSchemas(
  bin: TemporalServerBinaries,
  options: Pick<TemporalClusterOptions, 'adminUrl' | 'database' | 'visibilityDatabase'>,
  log: (line: string) => void,
): Promise<void> {
  const admin = new URL(options.adminUrl);
  const env = {
    ...process.env,
    // The password travels in the environment, never on a command line others can read.
    SQL_PASSWORD: decodeURIComponent(admin.password),
  };
  for (const [database, schema] of [
    [options.database, 'temporal'],
    [options.visibilityDatabase, 'visibility'],
  ] as const) {
    await ensureDatabase(options.adminUrl, database);
    const tool = (...args: string[]) => {
      const common = ['--plugin', 'postgres12', '--ep', admin.hostname, '-p', admin.port || '5432'];
      const user = admin.username ? ['-u', decodeURIComponent(admin.username)] : [];
      const run = spawnSync(bin.sqlTool, [...common, ...user, '--db', database, ...args], { env, encoding: 'utf8' });
      if (run.status !== 0)
        throw new Error(
          `temporal-sql-tool ${args[0]} on ${database} failed:\n${(run.stderr || run.stdout).slice(-2000)}`,
        );
    };
    const fresh = !(await hasSchemaVersion(withDatabase(options.adminUrl, database)));
    if (fresh) tool('setup-schema', '-v', '0.0');
    tool('update-schema', '-d', path.join(bin.schemaDir, schema, 'versioned'));
    log(`${fresh ? 'created' : 'checked'} the ${schema} schema in database "${database}"`);
  }
}

/** Writes `<dir>/config/fanzha.yaml` and the dynamic configuration beside it. */
export function writeServerConfig(dir: string, options: TemporalClusterOptions): void {
  const configDir = path.join(dir, 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = path.join(configDir, 'dynamicconfig.yaml');
  copyFileSync(DYNAMIC_CONFIG, dynamicConfigFile);
  const admin = new URL(options.adminUrl);
  const p = ports(options.port);
  const rendered = renderTemplate(readFileSync(TEMPLATE, 'utf8'), {
    ...p,
    logLevel: options.logLevel,
    historyShards: options.historyShards,
    database: options.database,
    visibilityDatabase: options.visibilityDatabase,
    dbAddress: `${admin.hostname}:${admin.port || '5432'}`,
    dbUser: decodeURIComponent(admin.username),
    dbPassword: decodeURIComponent(admin.password),
    host: options.host,
    metricsAddress: `${options.host}:${p.metricsPort}`,
    frontendAddress: `${options.host}:${p.frontendPort}`,
    dynamicConfigFile,
  });
  // It holds the database password: only its owner reads it.
  writeFileSync(path.join(configDir, 'fanzha.yaml'), rendered, { mode: 0o600 });
}

export function startTemporalServer(bin: TemporalServerBinaries, dir: string, logFile: string) {
  return spawnGroup(bin.server, ['--root', dir, '--config', 'config', '--env', 'fanzha', '--allow-no-auth', 'start'], {
    env: process.env,
    logFile,
  });
}

/** Waits until the frontend answers, however long a first start takes (shards being acquired). */
export async function waitForFrontend(address: string, isAlive: () => boolean, timeoutMs = 180_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    if (!isAlive()) throw new Error('the Temporal server exited while starting (see its log)');
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.getSystemInfo({});
        return;
      } finally {
        await connection.close();
      }
    } catch (error) {
      last = error;
      await sleep(500);
    }
  }
  throw new Error(`the Temporal server did not answer on ${address}: ${(last as Error)?.message}`);
}

/** Registers the namespace with its retention, or sets the retention of the one there. */
export async function ensureNamespace(
  address: string,
  namespace: string,
  retentionDays: number,
  log: (line: string) => void,
): Promise<void> {
  const connection = await Connection.connect({ address });
  const retention = msToTs(retentionDays * 86_400_000);
  try {
    const service = connection.workflowService;
    try {
      const found = await service.describeNamespace({ namespace });
      if (Number(found.config?.workflowExecutionRetentionTtl?.seconds ?? 0) !== retentionDays * 86_400) {
        await service.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: retention } });
        log(`namespace "${namespace}": retention set to ${retentionDays} days`);
      }
    } catch (error) {
      if ((error as { code?: number }).code !== grpcStatus.NOT_FOUND) throw error;
      await service.registerNamespace({ namespace, workflowExecutionRetentionPeriod: retention });
      log(`namespace "${namespace}" registered (retention ${retentionDays} days)`);
    }
    // A new namespace reaches every service's cache within seconds: wait until it can be used.
    for (let i = 0; ; i++) {
      try {
        await service.listWorkflowExecutions({ namespace, pageSize: 1 });
        return;
      } catch (error) {
        if (i >= 120) throw error;
        await sleep(500);
      }
    }
  } finally {
    await connection.close();
  }
}
