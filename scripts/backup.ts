/**
 * `npm run backup -- --to FILE`: one encrypted file holding a consistent snapshot of a running
 * embedded system (`npm start`), made by backup/embedded.ts, with the database dump asked of the
 * application process that holds it over its control socket (scripts/control-socket.ts); or of a
 * cluster's three PostgreSQL databases, made by backup/cluster.ts with pg_dump.
 * Needs FANZHA_BACKUP_KEY. Exit 0 on success, 1 on failure, 2 for a usage or configuration error.
 */
import { existsSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { resumeArchiverPausedByBackup } from '#backup/archiver-pause.js';
import { BackupRunning, backUpEmbedded, temporalDatabaseFile } from '#backup/embedded.js';
import { backUpCluster, clusterDatabases, ClusterSetupError } from '#backup/cluster.js';
import { loadConfigOrExit } from '#config/index.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { requestDatabaseDump } from './control-socket.js';

const say = (line: string) => console.error(`[backup] ${line}`);

const { values } = parseArgs({ options: { to: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
if (values.help || !values.to) {
  console.error(`npm run backup -- --to FILE

Backs up the running embedded system (npm start on FANZHA_DATA_DIR) into FILE, encrypted with
FANZHA_BACKUP_KEY (64 hex characters). FILE must not exist yet. Restore with \`npm run restore -- FILE\`.
A cluster (TEMPORAL_ADDRESS and DATABASE_URL): its three databases with pg_dump, Fanzha's first, then
Temporal's visibility and persistence databases (FANZHA_TEMPORAL_VISIBILITY_DATABASE_URL,
FANZHA_TEMPORAL_DATABASE_URL; by default DATABASE_URL's name + _temporal_visibility / _temporal).`);
  process.exit(values.help ? 0 : 2);
}
const target = path.resolve(values.to);
const config = loadConfigOrExit();
const cluster = !config.temporal.embedded && config.databaseUrl !== null;
if (!cluster && (!config.temporal.embedded || config.databaseUrl)) {
  say(
    'back up either the embedded system (npm start: neither TEMPORAL_ADDRESS nor DATABASE_URL) or a cluster (both TEMPORAL_ADDRESS and DATABASE_URL), with the configuration it runs with',
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
if (!cluster) {
  const sqliteFile = temporalDatabaseFile(config.dataDir);
  if (!existsSync(sqliteFile)) {
    say(`no Temporal database at ${sqliteFile}: is FANZHA_DATA_DIR the folder of the running system?`);
    process.exit(2);
  }
  if (statSync(path.dirname(target)).dev === statSync(config.dataDir).dev)
    say(
      `WARNING: ${target} is on the same filesystem as the data folder ${config.dataDir}; a dead disk takes both. Copy it elsewhere.`,
    );
}

const client = createTemporalClient(config);
stopCleanlyOnSignal(client, config.temporal.taskQueue, target);
let exitCode = 1;
try {
  const result = cluster
    ? // Its three PostgreSQL databases with pg_dump (backup/cluster.ts).
      await backUpCluster({ config, client, target, databases: clusterDatabases(config), log: say })
    : // The dump asked of the application process that holds the database, over its control socket.
      await backUpEmbedded({
        config,
        client,
        target,
        dumpDatabase: (to) => requestDatabaseDump(config.dataDir, to),
        what: 'npm run backup',
        log: say,
      });
  say(`wrote ${result.file} (${result.bytes} bytes, taken at ${result.takenAt})`);
  exitCode = 0;
} catch (error) {
  // Refused, not failed: a tool or a database is not as it must be, or another backup runs now.
  const refused = error instanceof ClusterSetupError || error instanceof BackupRunning;
  say(`${refused ? 'not backed up' : 'failed'}: ${(error as Error).message}`);
  if (refused) exitCode = 2;
} finally {
  await client.connection.close();
}
process.exit(exitCode);

/**
 * Ctrl-C or a stop signal mid-backup ends the process without its `finally`: the archiver schedule this
 * backup paused is resumed first (the note says a backup paused it, and this one holds the backup lock),
 * and the unfinished file is removed. The lock is left to a dead process, which the next backup takes over.
 */
function stopCleanlyOnSignal(client: Client, taskQueue: string, target: string) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      say(`${signal}: stopping the backup; no file is written`);
      rmSync(`${target}.partial`, { force: true });
      void resumeArchiverPausedByBackup(client, taskQueue)
        .catch((error) => say(`could not resume the archiver: ${(error as Error).message}`))
        .finally(() => process.exit(130));
    });
}
