/**
 * `npm start`: the whole system on embedded defaults, as a small supervisor of two children. With no
 * TEMPORAL_ADDRESS one child is a Temporal dev server (SQLite + Web UI under the data folder); the
 * other is the application process (scripts/start-app.ts: PGlite under the data folder unless
 * DATABASE_URL, migrations, the worker and the API). A child that dies is started again after a
 * backoff, and the death is logged; the other child is left running. The data folder is locked
 * (scripts/data-dir-lock.ts): a second `npm start` on it refuses. SIGINT/SIGTERM stops the application
 * process, then Temporal.
 */
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { RESTORING_MARKER } from '#backup/file.js';
import { loadConfigOrExit, workerNodeFlags } from '#config/index.js';
import { DataDirLocked, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { alive, createSupervisor, killGroup, sleep, spawnGroup } from './supervise.js';
import { findOrBuildTemporalCli, TemporalCliError } from './temporal-cli.js';
import { startDevServer, type DevServer } from './temporal-dev-server.js';

/** How long the application process gets to stop the API and drain the worker before it is killed. */
const STOP_GRACE_MS = 45_000;

const say = (line: string) => console.error(`[fanzha] ${line}`);

// The embedded system (its own Temporal dev server) tells its stop-payments to the bank simulator unless a
// real gateway is configured; anything else must say which banks it talks to. Checked here, once, so a
// configuration error ends `npm start` instead of being restarted.
const embedded = loadConfigOrExit().temporal.embedded;
const childEnv = {
  ...process.env,
  FANZHA_BANK_SIMULATOR: process.env.FANZHA_BANK_SIMULATOR ?? (embedded ? '1' : undefined),
};
const config = loadConfigOrExit(childEnv, { banks: true, auditKey: true });

// A backup folder that cannot be written would fail every scheduled backup, silently until the alert: say so now.
if (config.backup) {
  try {
    mkdirSync(config.backup.dir, { recursive: true, mode: 0o700 });
    accessSync(config.backup.dir, constants.W_OK);
  } catch (error) {
    say(`Configuration error: FANZHA_BACKUP_DIR ${config.backup.dir} cannot be written (${(error as Error).message})`);
    process.exit(2);
  }
}

// A restore killed half-way leaves some of the databases and not the rest: never a system to run.
if (existsSync(path.join(config.dataDir, RESTORING_MARKER))) {
  say(
    `not starting: a restore into ${config.dataDir} did not finish (${RESTORING_MARKER} is there). Empty the folder and run \`npm run restore\` again.`,
  );
  process.exit(2);
}

let lock: DataDirLock;
try {
  lock = lockDataDir(config.dataDir, 'npm start', say);
} catch (error) {
  if (!(error instanceof DataDirLocked)) throw error;
  say(`not starting: ${error.message}`);
  process.exit(2);
}

const supervisor = createSupervisor(say);

// --- the Temporal dev server ---------------------------------------------------------------------

let devServer: DevServer | null = null;
let temporalSupervision: { stopped: Promise<void> } | null = null;
if (config.temporal.embedded) {
  let cliPath: string;
  try {
    cliPath = await findOrBuildTemporalCli(say);
  } catch (error) {
    say(error instanceof TemporalCliError ? error.message : String(error));
    process.exit(1);
  }
  say(`starting the Temporal dev server (${cliPath}) on 127.0.0.1:${config.temporal.devServerPort}`);
  let first = true;
  let readyResolve!: () => void, readyReject!: (error: unknown) => void;
  const ready = new Promise<void>((resolve, reject) => ((readyResolve = resolve), (readyReject = reject)));
  temporalSupervision = supervisor.keep('the Temporal dev server', async () => {
    try {
      devServer = await startDevServer({
        cliPath,
        dbFile: path.join(config.dataDir, 'temporal.sqlite'),
        port: config.temporal.devServerPort,
        uiPort: config.temporal.devServerUiPort,
        logFile: path.join(config.dataDir, 'temporal.log'),
        pidFile: path.join(config.dataDir, 'temporal.pid'),
        log: say,
      });
    } catch (error) {
      // A first start that fails (port in use, a broken CLI) is the operator's to fix, not to retry.
      if (first) readyReject(error);
      throw error;
    }
    first = false;
    readyResolve();
    const pid = devServer.pid;
    return { pid, exited: watchPid(pid) };
  });
  try {
    await ready;
  } catch (error) {
    supervisor.stop();
    say((error as Error).message);
    process.exit(1);
  }
}

/** The dev server is started by startDevServer, which keeps its handle: watch its pid instead. */
async function watchPid(pid: number): Promise<string> {
  while (alive(pid)) await sleep(500);
  return `(pid ${pid}) exited`;
}

// --- the application process ---------------------------------------------------------------------

const APP_SCRIPT = fileURLToPath(new URL('./start-app.ts', import.meta.url));
let app: ReturnType<typeof spawnGroup> | null = null;

const appSupervision = supervisor.keep('the application process', async () => {
  // The worker runs in it, so the process is sized for the worker (FANZHA_WORKER_MEMORY_MB).
  app = spawnGroup(process.execPath, ['--import', 'tsx', ...workerNodeFlags(config), APP_SCRIPT], { env: childEnv });
  lock.setChildren([app.pid]);
  return app;
});

// --- stopping --------------------------------------------------------------------------------------

async function stopAll(signal: string) {
  say(`stopping (${signal}): the application process, then Temporal`);
  await (app as ReturnType<typeof spawnGroup> | null)?.stop(STOP_GRACE_MS);
  await appSupervision.stopped;
  await (devServer as DevServer | null)?.stop();
  await temporalSupervision?.stopped;
  lock.release();
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    if (supervisor.stopping) {
      // A second Ctrl-C: no more waiting.
      say('stopping now');
      if (app?.pid) killGroup(app.pid, 'SIGKILL');
      process.exit(1);
    }
    supervisor.stop();
    stopAll(signal).then(
      () => process.exit(0),
      (error) => {
        say(`while stopping: ${(error as Error).message}`);
        process.exit(1);
      },
    );
  });

// If whatever started us goes away without passing on its signal (an npm that exits on SIGTERM
// before its child does), stop as if signalled: nothing of the embedded system may be left behind.
const parentAtStart = process.ppid;
setInterval(() => {
  if (process.ppid !== parentAtStart && !supervisor.stopping) process.kill(process.pid, 'SIGTERM');
}, 1000).unref();
