/**
 * `npm run backup -- --to FILE`: one encrypted file holding a consistent snapshot of a running
 * embedded system (`npm start`): the Temporal dev server's SQLite database, copied with SQLite's
 * online backup API in one step, and Fanzha's PGlite database, dumped by the application process
 * that holds it (scripts/control-socket.ts), with a manifest (scripts/backup-file.ts). The archiver
 * schedule is paused meanwhile, so that the archive holds nothing Temporal's snapshot does not.
 * Needs FANZHA_BACKUP_KEY. Exit 0 on success, 1 on failure, 2 for a usage or configuration error.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { backup as sqliteBackup, DatabaseSync } from 'node:sqlite';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { archiverScheduleId } from '#audit/archiver-schedule.js';
import { archiveKey, archiveKeyId, loadConfigOrExit } from '#config/index.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { sha256OfFile, writeBackupFile, type BackupManifest } from './backup-file.js';
import { requestDatabaseDump } from './control-socket.js';

const say = (line: string) => console.error(`[backup] ${line}`);

const { values } = parseArgs({ options: { to: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || !values.to) {
  console.error(`npm run backup -- --to FILE

Backs up the running embedded system (npm start on FANZHA_DATA_DIR) into FILE, encrypted with
FANZHA_BACKUP_KEY (64 hex characters). FILE must not exist yet. Restore with \`npm run restore -- FILE\`.`);
  process.exit(values.help ? 0 : 2);
}
const target = path.resolve(values.to);
const config = loadConfigOrExit();
if (!config.temporal.embedded || config.databaseUrl) {
  say(
    'only the embedded system (npm start without TEMPORAL_ADDRESS and DATABASE_URL) is backed up by this command; back a cluster up with its databases’ own tools',
  );
  process.exit(2);
}
if (!config.backupKey) {
  say('FANZHA_BACKUP_KEY is required: 64 hex characters (e.g. `openssl rand -hex 32`), kept apart from the backups');
  process.exit(2);
}
if (existsSync(target)) {
  say(`${target} exists already; choose a new file`);
  process.exit(2);
}
const sqliteFile = path.join(config.dataDir, 'temporal.sqlite');
if (!existsSync(sqliteFile)) {
  say(`no Temporal database at ${sqliteFile}: is FANZHA_DATA_DIR the folder of the running system?`);
  process.exit(2);
}
if (statSync(path.dirname(target)).dev === statSync(config.dataDir).dev)
  say(
    `WARNING: ${target} is on the same filesystem as the data folder ${config.dataDir}; a dead disk takes both. Copy it elsewhere.`,
  );

/** Pauses the archiver schedule and waits for a run in progress; returns how to undo it (nothing when it was paused already). */
async function pauseArchiver(client: Client): Promise<(() => Promise<void>) | null> {
  const handle = client.schedule.getHandle(archiverScheduleId(config.temporal.taskQueue));
  const before = await handle.describe();
  if (before.state.paused) return null;
  await handle.pause('npm run backup');
  for (let waited = 0; waited < 120_000; waited += 250) {
    if ((await handle.describe()).info.runningActions.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return () => handle.unpause('npm run backup done');
}

const work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-'));
const client = createTemporalClient(config);
let unpause: (() => Promise<void>) | null = null;
let exitCode = 1;
try {
  try {
    unpause = await pauseArchiver(client);
    say(unpause ? 'archiver schedule paused while backing up' : 'the archiver schedule was paused already');
  } catch (error) {
    // The snapshot is still whole: the restored read model is reconciled, only the archive may hold a
    // history or two more than Temporal's copy says were closed.
    say(
      `WARNING: could not pause the archiver schedule on ${config.temporal.connect.connectionOptions.address ?? ''} (${(error as Error).message}); backing up anyway — run the backup with the configuration of \`npm start\` (FANZHA_TEMPORAL_PORT)`,
    );
  }
  const takenAt = new Date().toISOString();
  // All pages in one step: a step-by-step copy starts over whenever the server writes, and under load may never end.
  const source = new DatabaseSync(sqliteFile, { readOnly: true, timeout: 30_000 });
  const temporalCopy = path.join(work, 'temporal.sqlite');
  try {
    await sqliteBackup(source, temporalCopy, { rate: 2 ** 31 - 1 });
  } finally {
    source.close();
  }
  const databaseCopy = path.join(work, 'pglite.tar.gz');
  const dump = await requestDatabaseDump(config.dataDir, databaseCopy);
  const files = { 'temporal.sqlite': temporalCopy, 'pglite.tar.gz': databaseCopy };
  const packageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };
  const manifest: BackupManifest = {
    format: 1,
    takenAt,
    versions: {
      fanzha: packageJson.version,
      node: process.version,
      pglite: packageJson.dependencies['@electric-sql/pglite']!,
      postgres: dump.postgres,
    },
    migrations: dump.migrations,
    auditKeyId: archiveKeyId(archiveKey(config)!),
    archiverPaused: unpause !== null,
    parts: await Promise.all(
      Object.entries(files).map(async ([name, file]) => ({
        name,
        bytes: statSync(file).size,
        sha256: await sha256OfFile(file),
      })),
    ),
  };
  await writeBackupFile(target, config.backupKey, manifest, files);
  if (unpause) {
    await unpause();
    unpause = null;
    say('archiver schedule resumed');
  }
  say(`wrote ${target} (${statSync(target).size} bytes, taken at ${takenAt})`);
  exitCode = 0;
} catch (error) {
  say(`failed: ${(error as Error).message}`);
  rmSync(target, { force: true });
} finally {
  if (unpause) await unpause().catch((error) => say(`could not resume the archiver: ${(error as Error).message}`));
  await client.connection.close();
  rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);
