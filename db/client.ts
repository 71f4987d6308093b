/**
 * One database handle for both deployments: postgres.js against PostgreSQL (DATABASE_URL), or
 * PGlite under the data folder for the embedded default. The schema and every query are the same.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import * as schema from './schema.js';

export type Schema = typeof schema;
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

/** What a LISTEN tells its owner. */
export interface Listener {
  /** A notification on the channel, with its payload. */
  notified(payload: string): void;
  /** The LISTEN is in place: every notification committed from now on arrives. */
  listening(): void;
  /** The connection holding the LISTEN is gone: notifications are missed until `listening` again. */
  lost(): void;
}

/** The rows of a raw query on either database: postgres.js answers them as an array, PGlite as { rows }. */
export async function selectRows<T>(db: Database, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export interface DatabaseHandle {
  db: Database;
  kind: 'postgres' | 'pglite';
  /**
   * LISTENs on `channel` until `stop`, re-establishing a lost LISTEN by itself (telling `lost`, then
   * `listening` again). Notifications are sent with `pg_notify` in the transaction they describe.
   */
  listen(channel: string, listener: Listener): { stop(): Promise<void> };
  /** Applies the committed migrations (serialised across processes on PostgreSQL). */
  migrate(): Promise<void>;
  /** Resolves when the database answers within `timeoutMs`, rejects otherwise. */
  ping(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
  /** The embedded database only: its whole data folder as a gzipped tar, taken between two queries (a backup). */
  dumpDataDir?(): Promise<Blob>;
}

/** Another database on the same server as `url`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** The database a postgres:// URL names. */
export const databaseName = (url: string) => decodeURIComponent(new URL(url).pathname.slice(1));

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url));

export interface DatabaseOptions {
  /** postgres:// URL, or null for PGlite under `dataDir`. */
  url: string | null;
  dataDir: string;
  poolSize?: number;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.url) return openPostgres(options.url, options.poolSize ?? 10);
  return openPglite(path.join(options.dataDir, 'pglite'));
}

function openPostgres(url: string, poolSize: number): DatabaseHandle {
  // fetch_types off: postgres.js 3.4.9 fetches array types on every new connection from inside an event
  // handler, and a connection lost during that fetch rejects a promise nobody awaits, which ends the
  // process (seen while the database was flapping). Drizzle parses and writes arrays itself.
  const client = postgres(url, {
    max: poolSize,
    connect_timeout: 5,
    idle_timeout: 60,
    fetch_types: false,
    onnotice: () => {},
  });
  const db = drizzlePostgres(client, { schema }) as unknown as Database;
  return {
    db,
    kind: 'postgres',
    listen: (channel, listener) => listenOnPostgres(url, channel, listener),
    async migrate() {
      // A dedicated connection holds an advisory lock so that several API/worker processes starting
      // together apply each migration once.
      const lockClient = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => {} });
      try {
        await lockClient`select pg_advisory_lock(727274)`;
        await migratePostgres(drizzlePostgres(lockClient), { migrationsFolder: MIGRATIONS_FOLDER });
        await lockClient`select pg_advisory_unlock(727274)`;
      } finally {
        await lockClient.end({ timeout: 5 });
      }
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(client`select 1`.execute(), timeoutMs, 'PostgreSQL');
    },
    async close() {
      await client.end({ timeout: 5 });
    },
  };
}

async function openPglite(dir: string): Promise<DatabaseHandle> {
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    kind: 'pglite',
    listen(channel, listener) {
      // In-process: the one connection never drops while the database is open.
      const unlisten = client.listen(channel, (payload) => listener.notified(payload));
      void unlisten.then(() => listener.listening());
      return { stop: async () => void (await unlisten.then((stop) => stop())) };
    },
    async migrate() {
      await migratePglite(drizzlePglite(client), { migrationsFolder: MIGRATIONS_FOLDER });
    },
    async ping(timeoutMs = 2000) {
      await withTimeout(db.execute(sql`select 1`), timeoutMs, 'PGlite');
    },
    async close() {
      if (!client.closed) await client.close();
    },
    async dumpDataDir() {
      // Flushed first, so that the files need no recovery from the WAL when the copy is opened.
      await client.exec('CHECKPOINT');
      return client.dumpDataDir('gzip');
    },
  };
}

/** Makes `<dataDir>/pglite` from a dump of dumpDataDir (a restore into an empty data folder). */
export async function loadPgliteDump(dataDir: string, dump: Blob): Promise<void> {
  const dir = path.join(dataDir, 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir, { loadDataDir: dump });
  await client.close();
}

/** A lost LISTEN is tried again after 1 s, then 2, 4, up to 10 s apart. */
const RELISTEN_MS = [1_000, 2_000, 4_000, 10_000];
/** How often the LISTEN connection must answer; one that does not within HEARTBEAT_TIMEOUT_MS counts as lost. */
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 2_000;
export const LISTENER_APPLICATION_NAME = 'fanzha listener';

/**
 * A LISTEN on a connection of its own (postgres.js's `sql.listen` re-listens after a drop but neither
 * says that it dropped nor retries a failed re-listen). The owner is told as soon as the connection
 * closes, and a connection that stops answering (a network gone silent) is closed by the heartbeat.
 */
function listenOnPostgres(url: string, channel: string, listener: Listener): { stop(): Promise<void> } {
  let stopped = false;
  /** The connection whose LISTEN is in place, if any. */
  let live: postgres.Sql | null = null;
  let retry: NodeJS.Timeout | undefined;

  const drop = (sql: postgres.Sql) => {
    if (live !== sql) return;
    live = null;
    listener.lost();
    void sql.end({ timeout: 0 }).catch(() => {});
    if (!stopped) retry = setTimeout(() => void connect(1), RELISTEN_MS[0]);
  };

  async function connect(attempt: number): Promise<void> {
    if (stopped) return;
    // onnotify is postgres.js's own option for a connection's notifications, missing from its types.
    const notifications = {
      onnotify: (name: string, payload: string) => {
        if (sql === live && name === channel) listener.notified(payload);
      },
    };
    const sql: postgres.Sql = postgres(url, {
      max: 1,
      connect_timeout: 5,
      idle_timeout: 0,
      max_lifetime: null,
      fetch_types: false,
      connection: { application_name: LISTENER_APPLICATION_NAME },
      onnotice: () => {},
      onclose: () => drop(sql),
      ...notifications,
    });
    try {
      await sql`listen ${sql(channel)}`;
      if (stopped) throw new Error('stopped');
      live = sql;
      listener.listening();
    } catch {
      await sql.end({ timeout: 0 }).catch(() => {});
      if (!stopped)
        retry = setTimeout(() => void connect(attempt + 1), RELISTEN_MS[Math.min(attempt, RELISTEN_MS.length - 1)]);
    }
  }

  const heartbeat = setInterval(() => {
    const sql = live;
    if (sql) withTimeout(sql`select 1`.execute(), HEARTBEAT_TIMEOUT_MS, 'the LISTEN connection').catch(() => drop(sql));
  }, HEARTBEAT_MS).unref();
  void connect(0);
  return {
    async stop() {
      stopped = true;
      clearInterval(heartbeat);
      clearTimeout(retry);
      const sql = live;
      live = null;
      if (sql) await sql.end({ timeout: 5 }).catch(() => {});
    },
  };
}
