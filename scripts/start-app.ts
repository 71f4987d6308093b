/**
 * The application process of `npm start` (scripts/start-all.ts starts it, and starts it again when it
 * dies): the database (PGlite under the data folder unless DATABASE_URL), migrations, the worker, the
 * notification dispatcher and the API, in one process. Temporal is the supervisor's other child.
 * SIGINT/SIGTERM stops the API, then the worker, then the database.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { archiverScheduleId, ensureArchiverSchedule } from '#audit/archiver-schedule.js';
import { resumeArchiverPausedByBackup } from '#backup/archiver-pause.js';
import { BackupRunning, holdBackupLock } from '#backup/embedded.js';
import { backupScheduleId, ensureBackupSchedule } from '#backup/schedule.js';
import { buildApp } from '#api/app.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { startTracing } from '#services/tracing.js';
import { loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { formatReport, reconcile } from '#read-model/reconcile.js';
import { channelsFromConfig, createDispatcher } from '#worker/notifications/dispatcher.js';
import { connectWorkerConnection, createFanzhaWorker, installWorkerRuntime } from '#worker/worker.js';
import { RESTORED_MARKER } from '#backup/file.js';
import { serveControlSocket } from './control-socket.js';
import { dataDirHolder } from './data-dir-lock.js';

// The supervisor passed on the bank choice it made (simulator when embedded): same rules here.
const config = loadConfigOrExit(process.env, { banks: true, auditKey: true });
if (config.bankSimulator)
  console.error(
    '[fanzha] WARNING: the bank simulator answers every bank instruction (no real bank learns of a stop-payment); set BANK_GATEWAY_URL for a real deployment',
  );
const say = (line: string) => console.error(`[fanzha] ${line}`);

// Only under the supervisor that holds the data folder: never beside another system on the same PGlite.
if (dataDirHolder(config.dataDir)?.pid !== process.ppid) {
  say(`the application process runs under \`npm start\`, which holds ${config.dataDir}; start that instead`);
  process.exit(2);
}

const stops: (() => Promise<unknown>)[] = [];
let stopping = false;

async function stopAll() {
  stopping = true;
  for (const stop of stops.reverse()) {
    try {
      await stop();
    } catch (error) {
      say(`while stopping: ${(error as Error).message}`);
    }
  }
}

closeWithGrace({ delay: 45_000 }, async ({ signal, err }) => {
  if (err) say(`stopping after an error: ${err.stack ?? err.message}`);
  else say(`stopping (${signal ?? 'exit'}): API, then worker, then the database`);
  await stopAll();
});

// A supervisor that died without a word (SIGKILL) cannot stop us: stop as if signalled, so that the
// next `npm start` finds the data folder free.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart && !stopping) process.kill(process.pid, 'SIGTERM');
}, 1000).unref();

// Before anything that makes spans; flushed last (stops run in reverse).
const tracing = await startTracing(config.tracing, 'fanzha');
if (tracing) stops.push(() => tracing.shutdown());

const database = await prepareDatabase(config);
stops.push(() => database.close());
say(
  `database ready (${database.kind === 'pglite' ? `PGlite in ${path.join(config.dataDir, 'pglite')}` : 'PostgreSQL'})`,
);

installWorkerRuntime(config.logLevel, config.metrics.workerAddress);
const connection = await connectWorkerConnection(config.temporal.connect.connectionOptions, say);
stops.push(() => connection.close());
const worker = await createFanzhaWorker({
  config,
  connection,
  deps: { db: database.db },
  tracing,
  // This process holds the embedded database: the scheduled backup's activity runs here.
  scheduledBackup: { database, log: say },
});
const running = worker.run();
running.catch((error) => {
  if (!stopping) {
    say(`worker failed: ${error}`);
    process.kill(process.pid, 'SIGTERM');
  }
});
stops.push(async () => {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => {});
});

const dispatcher = createDispatcher({
  db: database.db,
  channelFor: channelsFromConfig(config, (line, fields) => say(`${line} ${JSON.stringify(fields)}`)),
  pollIntervalMs: config.notifications.pollIntervalMs,
  onError: (error) => say(`notification dispatch failed: ${(error as Error).message}`),
});
dispatcher.start();
stops.push(() => dispatcher.stop());

const temporal = createTemporalClient(config);
// Closed histories go to the audit archive on a Temporal Schedule (created once, kept in line with FANZHA_ARCHIVE_EVERY).
ensureArchiverSchedule(temporal, { taskQueue: config.temporal.taskQueue, everyMs: config.audit.archiveEveryMs }).then(
  (how) =>
    say(
      `archiver schedule "${archiverScheduleId(config.temporal.taskQueue)}" ${how} (every ${config.audit.archiveEveryMs / 1000}s)`,
    ),
  (error) => say(`could not create the archiver schedule: ${(error as Error).message}`),
);
// Scheduled backups (FANZHA_BACKUP_EVERY) on a Temporal Schedule, deleted when the variable is gone.
// Only the embedded system: the configuration refuses FANZHA_BACKUP_EVERY anywhere else.
if (database.dumpDataDir && config.temporal.embedded)
  ensureBackupSchedule(temporal, {
    taskQueue: config.temporal.taskQueue,
    everyMs: config.backup?.everyMs ?? null,
  }).then(
    (how) => {
      const id = backupScheduleId(config.temporal.taskQueue);
      if (config.backup)
        say(
          `backup schedule "${id}" ${how} (every ${config.backup.everyMs / 1000}s into ${config.backup.dir}, keeping ${config.backup.keep})`,
        );
      else if (how === 'deleted') say(`backup schedule "${id}" deleted (FANZHA_BACKUP_EVERY is not set)`);
    },
    (error) => say(`could not set up the backup schedule: ${(error as Error).message}`),
  );
stops.push(() => temporal.connection.close());
const app = await buildApp({ config, database, temporal });
stops.push(() => app.close());
await app.listen({ host: config.host, port: config.port });

// `npm run backup` asks this process, the one holding the embedded database, for its dump.
if (database.dumpDataDir) {
  try {
    const control = await serveControlSocket(config.dataDir, database, say);
    stops.push(() => control.close());
  } catch (error) {
    // A Unix socket's path is limited to ~107 bytes: a deep data folder loses backups, not the system.
    say(`WARNING: no control socket, so \`npm run backup\` cannot reach this system: ${(error as Error).message}`);
  }
}

// A snapshot is taken with the archiver paused (its note says by a backup): a restored copy, or a
// backup that died before resuming it, would leave it paused for good. Resumed here unless a backup
// runs now (it holds the backup lock, and resumes the schedule itself).
(async () => {
  let release: () => void;
  try {
    release = holdBackupLock(config.dataDir, 'npm start (resuming the archiver)');
  } catch (error) {
    if (error instanceof BackupRunning) return;
    throw error;
  }
  try {
    if ((await resumeArchiverPausedByBackup(temporal, config.temporal.taskQueue)) === 'resumed')
      say('archiver schedule resumed: a backup had paused it (in a restored snapshot, or one that did not finish)');
  } finally {
    release();
  }
})().catch((error) => say(`could not check the archiver schedule: ${(error as Error).message}`));

// The first start after `npm run restore`: the read model and the workflows were snapshotted a moment
// apart; the workflows are the truth, so the read model is repaired from them (the worker runs now).
const restoredMarker = path.join(config.dataDir, RESTORED_MARKER);
if (existsSync(restoredMarker)) {
  const restored = JSON.parse(readFileSync(restoredMarker, 'utf8')) as { takenAt: string };
  say(`restored from a backup taken at ${restored.takenAt}: reconciling the read model with the workflows`);
  (async () => {
    const report = await reconcile({
      db: database.db,
      client: temporal,
      repair: true,
      taskQueue: config.temporal.taskQueue,
    });
    say(`read model reconciled after the restore: ${formatReport(report).replaceAll('\n', '; ')}`);
    if (report.differences.every((d) => d.repaired)) rmSync(restoredMarker, { force: true });
  })().catch((error) =>
    say(`reconciling after the restore failed (tried again at the next start): ${(error as Error).message}`),
  );
}

const base = `http://${config.host}:${config.port}`;
say(`Console        ${base}/   (sign in; a first admin with "Sign in with a token")`);
say(`API            ${base}   (ready: ${base}/readyz)`);
say(`API docs       ${base}/docs   (OpenAPI: ${base}/openapi.json)`);
if (config.temporal.embedded) say(`Temporal Web UI ${config.temporal.webUiUrl}`);
say(
  `Temporal       ${config.temporal.connect.connectionOptions.address ?? ''} namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}`,
);
say(`data folder    ${config.dataDir}`);
if (!config.adminToken)
  say('no FANZHA_ADMIN_TOKEN set: set one to create the admin user, or use `npm run admin` to issue tokens');
