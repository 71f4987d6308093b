/**
 * Backup and restore of a cluster (`npm run cluster`, or any deployment on TEMPORAL_ADDRESS and
 * DATABASE_URL): its three PostgreSQL databases, each dumped with pg_dump (custom format) into the same
 * encrypted file as the embedded system's (./file.ts), restored with pg_restore into empty databases.
 *
 * Each pg_dump is one consistent snapshot of its database (one repeatable-read transaction); the three
 * are not one snapshot, so they are taken in the order that leaves only gaps the system closes itself:
 *   1. Fanzha's database first: every row, and every Idempotency-Key's stored answer, is then about a
 *      workflow the later Temporal copy has. A row about a workflow the restore lacks would be wrong for
 *      good (reconcile never invents a workflow); a row that lags its workflow, reconcile repairs.
 *   2. Temporal's visibility database: a visibility record lagging its run is brought up to date by the
 *      run's next transition; one ahead of persistence would name a run that does not exist.
 *   3. Temporal's persistence database last (the workflows themselves).
 * The archiver schedule is paused meanwhile, so that no archiver run anchors in Temporal's copy an
 * archive head that Fanzha's (earlier) copy lacks.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import postgres from 'postgres';
import { archiveKey, archiveKeyId, type FanzhaConfig } from '#config/index.js';
import { databaseName, withDatabase } from '#db/client.js';
import { withArchiverPaused } from './archiver-pause.js';
import type { BackupResult } from './embedded.js';
import {
  BackupFileError,
  decryptBackupFile,
  extractParts,
  placeBackupFile,
  readManifest,
  describeParts,
  expectKnownMigrations,
  fanzhaPackage,
  type BackupManifest,
} from './file.js';

const run = promisify(execFile);

/** The configuration is wrong, or the tools are missing or too old: nothing was done (exit 2). */
export class ClusterSetupError extends Error {}

/** The three databases, in the order they are dumped (see above), each one part of the file. */
export const CLUSTER_PARTS = [
  { part: 'fanzha.pgdump', key: 'fanzha', what: 'Fanzha’s database' },
  { part: 'temporal_visibility.pgdump', key: 'visibility', what: 'Temporal’s visibility database' },
  { part: 'temporal.pgdump', key: 'persistence', what: 'Temporal’s persistence database' },
] as const;

export type ClusterDatabases = Record<(typeof CLUSTER_PARTS)[number]['key'], string>;

/**
 * The cluster's three databases: DATABASE_URL (Fanzha's), and Temporal's from
 * FANZHA_TEMPORAL_DATABASE_URL and FANZHA_TEMPORAL_VISIBILITY_DATABASE_URL, by default on DATABASE_URL's
 * server as `npm run cluster` names them (`<name>_temporal`, `<name>_temporal_visibility`).
 */
export function clusterDatabases(config: FanzhaConfig, env: NodeJS.ProcessEnv = process.env): ClusterDatabases {
  if (!config.databaseUrl) throw new ClusterSetupError('DATABASE_URL is required to back up or restore a cluster');
  const given = (name: string) => {
    const value = env[name]?.trim();
    if (!value) return null;
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ClusterSetupError(`${name} must be a postgres:// URL`);
    }
    if (!['postgres:', 'postgresql:'].includes(url.protocol) || url.pathname.length < 2)
      throw new ClusterSetupError(`${name} must be a postgres:// URL naming a database`);
    return value;
  };
  const fanzha = config.databaseUrl;
  return {
    fanzha,
    visibility:
      given('FANZHA_TEMPORAL_VISIBILITY_DATABASE_URL') ??
      withDatabase(fanzha, `${databaseName(fanzha)}_temporal_visibility`),
    persistence: given('FANZHA_TEMPORAL_DATABASE_URL') ?? withDatabase(fanzha, `${databaseName(fanzha)}_temporal`),
  };
}

/** libpq's environment for `url`: the password never appears on a command line others can read. */
function libpqEnv(url: string): NodeJS.ProcessEnv {
  const u = new URL(url);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PGHOST: u.hostname.replace(/^\[(.*)\]$/, '$1'),
    PGPORT: u.port || '5432',
    PGDATABASE: databaseName(url),
  };
  if (u.username) env.PGUSER = decodeURIComponent(u.username);
  if (u.password) env.PGPASSWORD = decodeURIComponent(u.password);
  const sslmode = u.searchParams.get('sslmode');
  if (sslmode) env.PGSSLMODE = sslmode;
  return env;
}

/** A URL safe to print: no password. */
const shown = (url: string) => {
  const u = new URL(url);
  u.password = '';
  return u.toString();
};

/** `pg_dump` / `pg_restore` on PATH: its version (e.g. "15.20"), or what is wrong. */
async function toolVersion(tool: 'pg_dump' | 'pg_restore'): Promise<{ text: string; major: number }> {
  let out: string;
  try {
    out = (await run(tool, ['--version'])).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      throw new ClusterSetupError(
        `${tool} is not on PATH: install PostgreSQL's client tools of the server's major version or newer (e.g. apt-get install postgresql-client, or PATH=/usr/lib/postgresql/<N>/bin:$PATH)`,
      );
    throw error;
  }
  const match = /\)\s*(\d+)(?:\.(\d+))?/.exec(out);
  if (!match) throw new ClusterSetupError(`cannot read ${tool}'s version from "${out.trim()}"`);
  return { text: match[2] ? `${match[1]}.${match[2]}` : match[1]!, major: Number(match[1]) };
}

async function withSql<T>(url: string, use: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(url, { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    return await use(sql);
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** The server's version (e.g. "15.20") and major. */
async function serverVersion(sql: postgres.Sql): Promise<{ text: string; major: number }> {
  const [row] = await sql<{ v: string; n: string }[]>`select current_setting('server_version') as v,
    current_setting('server_version_num') as n`;
  return { text: row!.v.split(' ')[0]!, major: Math.floor(Number(row!.n) / 10_000) };
}

/** What is in a database besides PostgreSQL's own: relations and schemas other than public. */
async function userObjects(sql: postgres.Sql): Promise<{ relations: number; schemas: string[] }> {
  const [relations] = await sql<{ n: number }[]>`select count(*)::int as n from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_toast%'
      and n.nspname not like 'pg\\_temp%'`;
  const schemas = await sql<{ nspname: string }[]>`select nspname from pg_namespace
    where nspname not in ('public', 'pg_catalog', 'information_schema') and nspname not like 'pg\\_%'`;
  return { relations: relations!.n, schemas: schemas.map((s) => s.nspname) };
}

/**
 * Writes the backup of the running cluster's three databases to `target` (which must not exist).
 * Throws ClusterSetupError before doing anything when a tool or a database is not as it must be;
 * throws on failure leaving no file behind; the archiver schedule is resumed whatever happens.
 */
export async function backUpCluster(options: {
  config: FanzhaConfig;
  client: Client;
  databases: ClusterDatabases;
  target: string;
  log: (line: string) => void;
}): Promise<BackupResult> {
  const { config, client, databases, target, log } = options;
  if (!config.backupKey) throw new ClusterSetupError('FANZHA_BACKUP_KEY is required to write a backup');
  const pgDump = await toolVersion('pg_dump');
  // Everything checked before the archiver is touched: a wrong name or an old pg_dump costs nothing.
  let postgresVersion = '';
  let migrations = 0;
  for (const { key, what } of CLUSTER_PARTS) {
    const url = databases[key];
    await withSql(url, async (sql) => {
      const server = await serverVersion(sql).catch((error: Error) => {
        throw new ClusterSetupError(`cannot reach ${what} at ${shown(url)}: ${error.message}`);
      });
      // pg_dump refuses a server of a newer major version than its own: said here, before anything starts.
      if (pgDump.major < server.major)
        throw new ClusterSetupError(
          `pg_dump ${pgDump.text} is older than the server of ${what} (PostgreSQL ${server.text}): put the client tools of version ${server.major} or newer first on PATH`,
        );
      if (key === 'fanzha') {
        postgresVersion = server.text;
        const [level] = await sql<{ n: number }[]>`select count(*)::int as n from drizzle.__drizzle_migrations`.catch(
          () => {
            throw new ClusterSetupError(`${shown(url)} is not Fanzha's database (no drizzle.__drizzle_migrations)`);
          },
        );
        migrations = level!.n;
      } else {
        const [found] = await sql`select to_regclass('public.schema_version') is not null as present`;
        if (!found?.present)
          throw new ClusterSetupError(
            `${shown(url)} has no Temporal schema (schema_version): name ${what} with ${key === 'visibility' ? 'FANZHA_TEMPORAL_VISIBILITY_DATABASE_URL' : 'FANZHA_TEMPORAL_DATABASE_URL'}`,
          );
      }
    });
  }

  // One backup at a time per cluster: two would each pause the archiver, and the first to end would
  // resume it under the other. A session lock on Fanzha's database, gone with its connection.
  // Never recycled (postgres.js would after 30-60 minutes by default), or a long dump would lose the lock.
  const lock = postgres(databases.fanzha, {
    max: 1,
    onnotice: () => {},
    connect_timeout: 10,
    max_lifetime: null,
  });
  const [held] = await lock<{ ok: boolean }[]>`select pg_try_advisory_lock(hashtext('fanzha cluster backup')) as ok`;
  if (!held?.ok) {
    await lock.end({ timeout: 1 });
    throw new ClusterSetupError(
      'another backup of this cluster is running (it holds the backup lock on Fanzha’s database); try again when it has ended',
    );
  }
  let work: string | null = null;
  try {
    const folder = (work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-')));
    return await withArchiverPaused(client, config.temporal.taskQueue, log, async (archiverPaused) => {
      // Before the first dump: nothing decided after it is sure to be in the backup.
      const takenAt = new Date().toISOString();
      const files: Record<string, string> = {};
      for (const { part, key, what } of CLUSTER_PARTS) {
        const file = path.join(folder, part);
        const started = Date.now();
        try {
          await run('pg_dump', ['--format=custom', '--compress=6', `--file=${file}`], {
            env: libpqEnv(databases[key]),
            maxBuffer: 16 * 1024 * 1024,
          });
        } catch (error) {
          throw new Error(`pg_dump of ${what} failed: ${((error as { stderr?: string }).stderr ?? '').trim()}`, {
            cause: error,
          });
        }
        files[part] = file;
        log(
          `dumped ${what} "${databaseName(databases[key])}" (${statSync(file).size} bytes, ${Date.now() - started} ms)`,
        );
      }
      const key = archiveKey(config);
      const manifest: BackupManifest = {
        format: 1,
        mode: 'cluster',
        takenAt,
        versions: {
          fanzha: fanzhaPackage().version,
          node: process.version,
          postgres: postgresVersion,
          pgDump: pgDump.text,
        },
        databases: Object.fromEntries(CLUSTER_PARTS.map(({ part, key }) => [part, databaseName(databases[key])])),
        migrations,
        auditKeyId: key ? archiveKeyId(key) : null,
        archiverPaused,
        parts: await describeParts(CLUSTER_PARTS.map(({ part }) => [part, files[part]!])),
      };
      await placeBackupFile(target, config.backupKey!, manifest, files);
      return { file: target, bytes: statSync(target).size, takenAt };
    });
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
    await lock.end({ timeout: 1 });
  }
}

/**
 * Restores a cluster backup into three EMPTY (or absent: created) databases, with the cluster stopped.
 * ClusterSetupError (nothing touched): a tool missing or too old, a database that is not empty.
 * BackupFileError (nothing touched): the file fails its check, or is not a cluster's. The whole file is
 * verified before any database is created or written. Each database is restored in one transaction; if
 * one fails, the databases this restore created are dropped again.
 */
export async function restoreCluster(options: {
  config: FanzhaConfig;
  file: string;
  databases: ClusterDatabases;
  log: (line: string) => void;
}): Promise<BackupManifest> {
  const { config, file, databases, log } = options;
  if (!config.backupKey) throw new ClusterSetupError('FANZHA_BACKUP_KEY is required: the key the backup was made with');
  const pgRestore = await toolVersion('pg_restore');
  const absent = new Set<keyof ClusterDatabases>();
  for (const { key, what } of CLUSTER_PARTS) {
    const url = databases[key];
    await withSql(url, async (sql) => {
      const objects = await userObjects(sql);
      if (objects.relations > 0 || objects.schemas.length > 0)
        throw new ClusterSetupError(
          `refusing to restore into ${what} "${databaseName(url)}" at ${shown(url)}: it is not empty (${objects.relations} tables, sequences or views${objects.schemas.length ? `; schemas ${objects.schemas.join(', ')}` : ''}). A restore replaces the whole cluster: stop it, and give it empty databases (drop and create them, or name new ones) — nothing was changed.`,
        );
    }).catch((error: unknown) => {
      // 3D000: no such database; the restore creates it.
      if ((error as { code?: string }).code === '3D000') absent.add(key);
      else if (error instanceof ClusterSetupError) throw error;
      else throw new ClusterSetupError(`cannot reach ${what} at ${shown(url)}: ${(error as Error).message}`);
    });
  }

  const work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-restore-'));
  const created: string[] = [];
  const filled: string[] = [];
  try {
    const plain = path.join(work, 'plain');
    await decryptBackupFile(file, config.backupKey, plain);
    const { manifest: head } = readManifest(plain);
    if (head.mode !== 'cluster')
      throw new BackupFileError(
        'this backup is of the embedded system (npm start): restore it into an empty data folder, without TEMPORAL_ADDRESS and DATABASE_URL',
      );
    const files = Object.fromEntries(CLUSTER_PARTS.map(({ part }) => [part, path.join(work, part)]));
    const manifest = await extractParts(plain, files);
    rmSync(plain);
    expectKnownMigrations(manifest);
    const dumpMajor = Number(/^\d+/.exec(manifest.versions.pgDump ?? '')?.[0] ?? 0);
    if (pgRestore.major < dumpMajor)
      throw new ClusterSetupError(
        `pg_restore ${pgRestore.text} cannot read dumps of pg_dump ${manifest.versions.pgDump}: put the client tools of version ${dumpMajor} or newer first on PATH`,
      );

    for (const key of absent) {
      const url = databases[key];
      // Created by connecting to the server's maintenance database, as createdb does.
      await withSql(withDatabase(url, 'postgres'), (sql) =>
        sql.unsafe(`create database "${databaseName(url).replace(/"/g, '""')}"`),
      );
      created.push(url);
      log(`created database "${databaseName(url)}"`);
    }
    for (const { part, key, what } of CLUSTER_PARTS) {
      const started = Date.now();
      try {
        // One transaction per database: a failure leaves it as empty as it was. --no-owner: the
        // restoring user owns what it restores (the backed-up server's roles need not exist here).
        await run(
          'pg_restore',
          [
            '--single-transaction',
            '--exit-on-error',
            '--no-owner',
            `--dbname=${databaseName(databases[key])}`,
            files[part]!,
          ],
          {
            env: libpqEnv(databases[key]),
            maxBuffer: 16 * 1024 * 1024,
          },
        );
      } catch (error) {
        throw new Error(`pg_restore of ${what} failed: ${((error as { stderr?: string }).stderr ?? '').trim()}`, {
          cause: error,
        });
      }
      if (!absent.has(key)) filled.push(databaseName(databases[key]));
      log(`restored ${what} into "${databaseName(databases[key])}" (${Date.now() - started} ms)`);
    }
    created.length = 0;
    return manifest;
  } catch (error) {
    for (const url of created)
      await withSql(withDatabase(url, 'postgres'), (sql) =>
        sql.unsafe(`drop database if exists "${databaseName(url).replace(/"/g, '""')}"`),
      ).catch((dropError: Error) => log(`could not drop "${databaseName(url)}" again: ${dropError.message}`));
    if (filled.length > 0)
      log(
        `the databases ${filled.join(', ')} were given empty and now hold part of the backup: drop and create them before restoring again`,
      );
    throw error;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
