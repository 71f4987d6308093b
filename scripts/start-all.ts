/**
 * `npm start`: the whole system on embedded defaults, in one process tree. With no TEMPORAL_ADDRESS it
 * runs a Temporal dev server (SQLite + Web UI under the data folder); with no DATABASE_URL it uses
 * PGlite under the data folder. Then migrations, the worker and the API. SIGINT/SIGTERM stops all.
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import closeWithGrace from 'close-with-grace';
import { archiverScheduleId, ensureArchiverSchedule } from '#audit/archiver-schedule.js';
import { buildApp } from '#api/app.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { channelsFromConfig, createDispatcher } from '#worker/notifications/dispatcher.js';
import { connectWorkerConnection, createFanzhaWorker, installWorkerRuntime } from '#worker/worker.js';
import { findOrBuildTemporalCli, TemporalCliError } from './temporal-cli.js';
import { startDevServer, type DevServer } from './temporal-dev-server.js';

// The embedded system (its own Temporal dev server) tells its stop-payments to the bank simulator unless a
// real gateway is configured; anything else must say which banks it talks to.
const embedded = loadConfigOrExit().temporal.embedded;
const config = loadConfigOrExit(
  { ...process.env, FANZHA_BANK_SIMULATOR: process.env.FANZHA_BANK_SIMULATOR ?? (embedded ? '1' : undefined) },
  { banks: true },
);
if (config.bankSimulator)
  console.error(
    '[fanzha] WARNING: the bank simulator answers every bank instruction (no real bank learns of a stop-payment); set BANK_GATEWAY_URL for a real deployment',
  );
mkdirSync(config.dataDir, { recursive: true });
const say = (line: string) => console.error(`[fanzha] ${line}`);
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
  else say(`stopping (${signal ?? 'exit'}): API, then worker, then Temporal`);
  await stopAll();
});

// If whatever started us goes away without passing on its signal (an npm that exits on SIGTERM
// before its child does), stop as if signalled: nothing of the embedded system may be left behind.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart && !stopping) process.kill(process.pid, 'SIGTERM');
}, 1000).unref();

let devServer: DevServer | null = null;
if (config.temporal.embedded) {
  let cliPath: string;
  try {
    cliPath = await findOrBuildTemporalCli(say);
  } catch (error) {
    say(error instanceof TemporalCliError ? error.message : String(error));
    process.exit(1);
  }
  say(`starting the Temporal dev server (${cliPath}) on 127.0.0.1:${config.temporal.devServerPort}`);
  devServer = await startDevServer({
    cliPath,
    dbFile: path.join(config.dataDir, 'temporal.sqlite'),
    port: config.temporal.devServerPort,
    uiPort: config.temporal.devServerUiPort,
    logFile: path.join(config.dataDir, 'temporal.log'),
    pidFile: path.join(config.dataDir, 'temporal.pid'),
    log: say,
  });
  stops.push(() => devServer!.stop());
}

const database = await prepareDatabase(config);
stops.push(() => database.close());
say(
  `database ready (${database.kind === 'pglite' ? `PGlite in ${path.join(config.dataDir, 'pglite')}` : 'PostgreSQL'})`,
);

installWorkerRuntime(config.logLevel);
const connection = await connectWorkerConnection(config.temporal.connect.connectionOptions, say);
stops.push(() => connection.close());
const worker = await createFanzhaWorker({ config, connection, deps: { db: database.db } });
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
stops.push(() => temporal.connection.close());
const app = await buildApp({ config, database, temporal });
stops.push(() => app.close());
await app.listen({ host: config.host, port: config.port });

const base = `http://${config.host}:${config.port}`;
say(`Console        ${base}/   (sign in; a first admin with "Sign in with a token")`);
say(`API            ${base}   (ready: ${base}/readyz)`);
say(`API docs       ${base}/docs   (OpenAPI: ${base}/openapi.json)`);
if (devServer?.uiUrl) say(`Temporal Web UI ${devServer.uiUrl}`);
say(
  `Temporal       ${config.temporal.connect.connectionOptions.address ?? ''} namespace ${config.temporal.namespace}, task queue ${config.temporal.taskQueue}`,
);
say(`data folder    ${config.dataDir}`);
if (!config.adminToken)
  say('no FANZHA_ADMIN_TOKEN set: set one to create the admin user, or use `npm run admin` to issue tokens');
