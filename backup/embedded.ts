/**
 * One backup of the embedded system (`npm start`): the Temporal dev server's SQLite database, copied
 * with SQLite's online backup API in one step, and Fanzha's PGlite database, dumped by the process
 * that holds it, with a manifest, in one encrypted file (./file.ts). The archiver schedule is paused
 * meanwhile, so that the archive holds nothing Temporal's snapshot does not. Used by `npm run backup`
 * (the dump comes over the control socket) and by the scheduled backup (the dump is in-process).
 */
import { randomUUID } from 'node:crypto';
import { linkSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backup as sqliteBackup, DatabaseSync } from 'node:sqlite';
import type { Client } from '@temporalio/client';
import { sql } from 'drizzle-orm';
import { archiveKey, archiveKeyId, type FanzhaConfig } from '#config/index.js';
import { selectRows, type DatabaseHandle } from '#db/client.js';
import { withArchiverPaused } from './archiver-pause.js';
import { describeParts, fanzhaPackage, placeBackupFile, type BackupManifest } from './file.js';

/** What the process holding the database says about it with its dump. */
export interface DatabaseDumpInfo {
  migrations: number;
  postgres: string;
}

/** Writes a dump of the embedded database to a file; says its schema level and server version. */
export type DumpDatabase = (to: string) => Promise<DatabaseDumpInfo>;

/** The dump as the process holding the PGlite database makes it (PGlite's own dumpDataDir, gzipped tar). */
export async function dumpEmbeddedDatabase(database: DatabaseHandle): Promise<{ dump: Blob; info: DatabaseDumpInfo }> {
  if (!database.dumpDataDir) throw new Error('only the embedded (PGlite) database is dumped this way');
  const [level] = await selectRows<{ n: number }>(
    database.db,
    sql`select count(*)::int as n from drizzle.__drizzle_migrations`,
  );
  const [version] = await selectRows<{ server_version: string }>(database.db, sql`show server_version`);
  const dump = await database.dumpDataDir();
  return { dump, info: { migrations: level!.n, postgres: version!.server_version } };
}

/** The Temporal dev server's database in an embedded data folder. */
export const temporalDatabaseFile = (dataDir: string) => path.join(dataDir, 'temporal.sqlite');

/** Names the backup running on a data folder (pid, what, since); removed when it ends. */
export const BACKUP_LOCK = 'backup.running';

export class BackupRunning extends Error {}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

interface BackupLockHolder {
  pid: number;
  what: string;
  since: string;
  /** This holding of the lock: a lock naming this process's pid but not one of its holdings is a dead process's. */
  token: string;
}

const heldHere = new Set<string>();
const bootedAt = Date.now() - os.uptime() * 1000;

function readHolder(file: string): BackupLockHolder | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as BackupLockHolder;
  } catch {
    return null;
  }
}

/** A lock from before the machine booted is dead, whoever has its pid now; so is one of this pid it does not hold. */
const holderLives = (held: BackupLockHolder) =>
  Date.parse(held.since) >= bootedAt &&
  Number.isInteger(held.pid) &&
  (held.pid === process.pid ? heldHere.has(held.token) : alive(held.pid));

/**
 * One backup at a time on a data folder (`npm run backup` and the schedule): two would each pause the
 * archiver, and the first to end would resume it under the other. Written whole to a private file and
 * linked into place (link fails if the lock exists: two at once cannot both win, and nobody reads a
 * half-written lock); a lock whose process is dead is taken over. Returns how to give it up.
 */
export function holdBackupLock(dataDir: string, what: string): () => void {
  const file = path.join(dataDir, BACKUP_LOCK);
  const mine: BackupLockHolder = { pid: process.pid, what, since: new Date().toISOString(), token: randomUUID() };
  const draft = `${file}.${mine.token}`;
  writeFileSync(draft, JSON.stringify(mine), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      const held = readHolder(file);
      if (held && holderLives(held))
        throw new BackupRunning(
          `another backup of ${dataDir} is running (${held.what}, pid ${held.pid}, since ${held.since}); try again when it has ended`,
        );
      // Another may have taken the stale lock over meanwhile: remove only the one just judged stale.
      if (readHolder(file)?.token === held?.token) rmSync(file, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
  heldHere.add(mine.token);
  return () => {
    heldHere.delete(mine.token);
    if (readHolder(file)?.token === mine.token) rmSync(file, { force: true });
  };
}

export interface BackupResult {
  file: string;
  bytes: number;
  takenAt: string;
}

/**
 * Writes the backup of the running embedded system to `target` (which must not exist). Throws on
 * failure, leaving no file behind; the archiver schedule is resumed whatever happens.
 */
export async function backUpEmbedded(options: {
  config: FanzhaConfig;
  client: Client;
  target: string;
  dumpDatabase: DumpDatabase;
  /** Who takes it (`npm run backup`, the schedule), for a second backup's refusal. */
  what: string;
  log: (line: string) => void;
}): Promise<BackupResult> {
  const { config, client, target, dumpDatabase, log } = options;
  if (!config.backupKey) throw new Error('FANZHA_BACKUP_KEY is required to write a backup');
  const release = holdBackupLock(config.dataDir, options.what);
  let work: string | null = null;
  try {
    const folder = (work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-')));
    return await withArchiverPaused(client, config.temporal.taskQueue, log, async (archiverPaused) => {
      const takenAt = new Date().toISOString();
      // Fanzha's database first, Temporal's second: the restored workflows are then never older than
      // the rows about them. A row or an Idempotency-Key's stored answer about a workflow the restored
      // Temporal never saw would be wrong for good (reconcile never invents a workflow); a workflow the
      // rows have not caught up with is repaired by reconcile, and a retried request re-runs onto the
      // same workflow ID or Update ID, which Temporal deduplicates.
      const databaseCopy = path.join(folder, 'pglite.tar.gz');
      const dump = await dumpDatabase(databaseCopy);
      // All pages in one step: a step-by-step copy starts over whenever the server writes, and under load may never end.
      const source = new DatabaseSync(temporalDatabaseFile(config.dataDir), { readOnly: true, timeout: 30_000 });
      const temporalCopy = path.join(folder, 'temporal.sqlite');
      try {
        await sqliteBackup(source, temporalCopy, { rate: 2 ** 31 - 1 });
      } finally {
        source.close();
      }
      const files = { 'temporal.sqlite': temporalCopy, 'pglite.tar.gz': databaseCopy };
      const packageJson = fanzhaPackage();
      const manifest: BackupManifest = {
        format: 1,
        mode: 'embedded',
        takenAt,
        versions: {
          fanzha: packageJson.version,
          node: process.version,
          pglite: packageJson.dependencies['@electric-sql/pglite']!,
          postgres: dump.postgres,
        },
        migrations: dump.migrations,
        auditKeyId: archiveKeyId(archiveKey(config)!),
        archiverPaused,
        parts: await describeParts(Object.entries(files)),
      };
      await placeBackupFile(target, config.backupKey!, manifest, files);
      return { file: target, bytes: statSync(target).size, takenAt };
    });
  } finally {
    if (work) rmSync(work, { recursive: true, force: true });
    release();
  }
}
