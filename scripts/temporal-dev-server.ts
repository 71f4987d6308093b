/**
 * Starts `temporal server start-dev` with a SQLite file and waits until it really answers (no fixed
 * start-up limit: a first start on a busy 2-core machine can be slow).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { Connection } from '@temporalio/client';

/** A port nobody listens on right now (the OS's choice). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/**
 * A private dev server on a free port (tests, the bench). The port is free when chosen but may be
 * taken before the server binds it (by the server's own internal services among others): then a new
 * port is tried, up to three times.
 */
export async function startDevServerOnFreePort(options: Omit<DevServerOptions, 'port'>): Promise<DevServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServer({ ...options, port: await freePort() });
    } catch (error) {
      if (attempt >= 3 || !(error instanceof DevServerPortTaken)) throw error;
      options.log?.(
        `The dev server's port was taken meanwhile; trying another (${(error as Error).message.split('\n')[0]})`,
      );
    }
  }
}

/** The server exited at start-up because its port was in use by the time it bound it. */
export class DevServerPortTaken extends Error {}

export interface DevServerOptions {
  cliPath: string;
  dbFile: string;
  port: number;
  uiPort?: number;
  /** No Web UI (tests). */
  headless?: boolean;
  logFile?: string;
  /** A pid file: a dev server left behind by a killed parent is stopped before a new one starts. */
  pidFile?: string;
  readyTimeoutMs?: number;
  log?: (line: string) => void;
  /** More `key=value` dynamic config (a test that needs a server with other limits). */
  dynamicConfig?: string[];
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  pid: number;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForExit(pid: number, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

async function stopLeftover(pidFile: string, log: (line: string) => void): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  rmSync(pidFile, { force: true });
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return;
  }
  if (!cmdline.includes('start-dev')) return;
  log(`Stopping a Temporal dev server left running by an earlier start (pid ${pid}).`);
  process.kill(pid, 'SIGTERM');
  if (!(await waitForExit(pid, 10_000))) process.kill(pid, 'SIGKILL');
}

/** true when something already accepts connections on the port. */
function portTaken(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const log = options.log ?? ((line: string) => console.error(line));
  if (options.pidFile) await stopLeftover(options.pidFile, log);
  // Never mistake someone else's server on this port for the one we start.
  for (const port of [options.port, ...(options.headless || !options.uiPort ? [] : [options.uiPort])])
    if (await portTaken(port))
      throw new Error(
        `Port ${port} on 127.0.0.1 is already in use; stop what runs there or choose other ports (FANZHA_TEMPORAL_PORT, FANZHA_TEMPORAL_UI_PORT).`,
      );
  const args = [
    'server',
    'start-dev',
    '--db-filename',
    options.dbFile,
    '--sqlite-pragma',
    'journal_mode=WAL',
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--ip',
    '127.0.0.1',
    '--port',
    String(options.port),
    '--log-level',
    'warn',
    // A single-node server: hand an activity to the worker in the answer to the workflow task that
    // scheduled it (no trip through matching), and one partition per task queue (no forwarding
    // between partitions). Both cut the server's work per step; see the README's benchmark.
    '--dynamic-config-value',
    'system.enableActivityEagerExecution=true',
    '--dynamic-config-value',
    'matching.numTaskqueueReadPartitions=1',
    '--dynamic-config-value',
    'matching.numTaskqueueWritePartitions=1',
    ...(options.dynamicConfig ?? []).flatMap((value) => ['--dynamic-config-value', value]),
  ];
  if (options.headless) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  const child: ChildProcess = spawn(options.cliPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  // Seen once, early: a long panic trace follows it out of the tail.
  let bindFailed = false;
  const logStream = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  const keep = (chunk: Buffer) => {
    logStream?.write(chunk);
    tail.push(chunk.toString());
    if (/bind: address already in use/.test(chunk.toString())) bindFailed = true;
    if (tail.length > 50) tail.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (options.pidFile && child.pid) writeFileSync(options.pidFile, String(child.pid));

  let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exitPromise = new Promise<void>((resolve) =>
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      logStream?.end();
      resolve();
    }),
  );
  const address = `127.0.0.1:${options.port}`;
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exitPromise;
      clearTimeout(timer);
    }
    if (options.pidFile) rmSync(options.pidFile, { force: true });
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? 180_000);
  let lastError = '';
  while (true) {
    if (exited) {
      const output = tail.join('');
      const message = `The Temporal dev server exited during start-up (${JSON.stringify(exited)}). Is port ${options.port} already in use?\n${output.slice(-3000)}`;
      throw bindFailed ? new DevServerPortTaken(message) : new Error(message);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `The Temporal dev server did not answer on ${address}: ${lastError}\n${tail.join('').slice(-3000)}`,
      );
    }
    try {
      const connection = await Connection.connect({ address, connectTimeout: 2_000 });
      try {
        await connection.workflowService.describeNamespace({ namespace: 'default' });
      } finally {
        await connection.close();
      }
      break;
    } catch (error) {
      lastError = (error as Error).message;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return {
    address,
    uiUrl: options.headless || !options.uiPort ? null : `http://127.0.0.1:${options.uiPort}`,
    pid: child.pid!,
    stop,
  };
}
