/**
 * Real OS processes for the reliability tests: the worker (`worker/main.ts`) and the API
 * (`api/server.ts`) run as `node --import tsx …`, each in its own process group so that a SIGKILL
 * takes the whole group (tsx's esbuild helper included) and nothing is left behind.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, closeSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, workerNodeFlags } from '#config/index.js';
import { freePort } from '#scripts/temporal-dev-server.js';
import { waitFor } from './alerts.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface ManagedProcess {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves when the process has exited (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  alive(): boolean;
  /** Everything the process wrote so far (stdout and stderr). */
  output(): string;
  /** Signals the whole process group and waits until the leader has exited. */
  kill(signal?: NodeJS.Signals): Promise<void>;
}

const spawned: ManagedProcess[] = [];
let logDir: string | null = null;

function logDirectory(): string {
  logDir ??= mkdtempSync(path.join(os.tmpdir(), 'fanzha-reliability-'));
  return logDir;
}

/** A temporary file holding this policy (DESIGN.md §7 shape), for FANZHA_POLICY_FILE. */
export function writePolicyFile(policy: unknown): string {
  const file = path.join(
    logDirectory(),
    `policy-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}.json`,
  );
  writeFileSync(file, JSON.stringify(policy));
  return file;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `node --import tsx <script> [args]` from the repository root with exactly this environment (plus PATH/HOME and the test stack's audit key). */
export function startNodeProcess(
  name: string,
  script: string,
  env: Record<string, string>,
  args: string[] = [],
  nodeFlags: string[] = [],
): ManagedProcess {
  const logFile = path.join(logDirectory(), `${name}-${spawned.length + 1}.log`);
  const fd = openSync(logFile, 'a');
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, script, ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? os.tmpdir(),
      TMPDIR: os.tmpdir(),
      NODE_ENV: 'production',
      FANZHA_AUDIT_KEY: 'fanzha-test-audit-key-0123456789abcdef', // the test stack's (tests/helpers/stack.ts)
      ...env,
    },
    stdio: ['ignore', fd, fd],
    detached: true,
  });
  closeSync(fd);
  if (!child.pid) throw new Error(`could not start ${name}`);
  const pid = child.pid;
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    }),
  );
  const managed: ManagedProcess = {
    name,
    pid,
    logFile,
    exited,
    alive: () => !done,
    output: () => {
      try {
        return readFileSync(logFile, 'utf8');
      } catch {
        return '';
      }
    },
    async kill(signal = 'SIGKILL') {
      if (groupAlive(pid)) {
        try {
          process.kill(-pid, signal);
        } catch {
          // already gone
        }
      }
      const timer = setTimeout(() => groupAlive(pid) && process.kill(-pid, 'SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
      // The group's other members (tsx's esbuild) must go too, whatever the signal was.
      for (let i = 0; i < 50 && groupAlive(pid); i++) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // gone meanwhile
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
  };
  spawned.push(managed);
  return managed;
}

/** Waits until the process printed a line matching `pattern`; fails early (with its output) if it exits. */
export async function waitForOutput(proc: ManagedProcess, pattern: RegExp, timeoutMs = 90_000): Promise<void> {
  await waitFor(
    `${proc.name} to print ${pattern}`,
    async () => {
      const out = proc.output();
      if (pattern.test(out)) return true;
      if (!proc.alive()) throw new Error(`${proc.name} exited before printing ${pattern}:\n${out.slice(-3000)}`);
      return false;
    },
    timeoutMs,
  ).catch((error: Error) => {
    throw new Error(`${error.message}\n--- ${proc.name} output ---\n${proc.output().slice(-3000)}`);
  });
}

/** Starts the worker process as `npm run worker` does (sized by FANZHA_WORKER_MEMORY_MB) and waits until it polls its task queue. */
export async function startWorkerProcess(env: Record<string, string>): Promise<ManagedProcess> {
  const worker = startNodeProcess('worker', 'worker/main.ts', env, [], workerNodeFlags(loadConfig(env)));
  try {
    await waitForOutput(worker, /worker polling task queue/);
  } catch (error) {
    await worker.kill('SIGKILL');
    throw error;
  }
  return worker;
}

/** Starts the API process (`npm run api`) and waits until /readyz answers 200. */
export async function startApiProcess(env: Record<string, string> & { PORT: string }): Promise<ManagedProcess> {
  const api = startNodeProcess('api', 'api/server.ts', { HOST: '127.0.0.1', ...env });
  try {
    await waitFor(
      'the API process to be ready',
      async () => {
        if (!api.alive()) throw new Error(`the API process exited:\n${api.output().slice(-3000)}`);
        const response = await fetch(`http://127.0.0.1:${env.PORT}/readyz`, { signal: AbortSignal.timeout(3_000) });
        return response.status === 200;
      },
      90_000,
    );
  } catch (error) {
    await api.kill('SIGKILL');
    throw error;
  }
  return api;
}

/** Where an embedded system (`npm start`) runs: its data folder and three free ports (API, Temporal, its UI). */
export async function embeddedSystemPlace(dataDir: string) {
  return {
    FANZHA_DATA_DIR: dataDir,
    PORT: String(await freePort()),
    FANZHA_TEMPORAL_PORT: String(await freePort()),
    FANZHA_TEMPORAL_UI_PORT: String(await freePort()),
  };
}

/**
 * Starts the whole embedded system as `npm start` does (scripts/start-all.ts: the supervisor, with the
 * Temporal dev server and the application process as its children) and waits until /readyz answers 200.
 * `env` names its data folder and ports (FANZHA_DATA_DIR, PORT, FANZHA_TEMPORAL_PORT, FANZHA_TEMPORAL_UI_PORT).
 */
export async function startSystemProcess(env: Record<string, string> & { PORT: string }): Promise<ManagedProcess> {
  const system = startNodeProcess('npm-start', 'scripts/start-all.ts', { HOST: '127.0.0.1', ...env });
  try {
    await waitFor(
      '`npm start` to be ready',
      async () => {
        if (!system.alive()) throw new Error(`\`npm start\` exited:\n${system.output().slice(-3000)}`);
        const response = await fetch(`http://127.0.0.1:${env.PORT}/readyz`, { signal: AbortSignal.timeout(3_000) });
        return response.status === 200;
      },
      240_000,
    );
  } catch (error) {
    await stopSystemProcess(system);
    throw error;
  }
  return system;
}

/** The pids of the children `npm start` said it runs now, by what they are ("the application process", "the Temporal dev server"). */
export function supervisedPid(system: ManagedProcess, what: string): number {
  const runs = [...system.output().matchAll(new RegExp(`${what} running \\(pid (\\d+)`, 'g'))];
  if (!runs.length) throw new Error(`\`npm start\` never said ${what} runs:\n${system.output().slice(-3000)}`);
  return Number(runs.at(-1)![1]);
}

/**
 * Stops `npm start` as Ctrl-C would (SIGINT to the supervisor alone), then makes sure its application
 * process, which runs in a process group of its own, is gone too.
 */
export async function stopSystemProcess(system: ManagedProcess): Promise<void> {
  let app: number | null = null;
  try {
    app = supervisedPid(system, 'the application process');
  } catch {
    // never started one
  }
  if (system.alive()) process.kill(system.pid, 'SIGINT');
  const timer = setTimeout(() => void system.kill('SIGKILL'), 60_000);
  await system.exited;
  clearTimeout(timer);
  await system.kill('SIGKILL');
  if (app && groupAlive(app)) process.kill(-app, 'SIGKILL');
}

/** Everything every process started here wrote, in start order. */
export function allOutput(): string {
  return spawned.map((p) => p.output()).join('\n');
}

/** Kills every process these helpers started (whole groups), waiting for each to exit. */
export async function stopAllProcesses(): Promise<void> {
  await Promise.all(spawned.map((p) => p.kill('SIGKILL')));
}

/** Process groups of everything started here that still have a live member (pgrep -g); [] when clean. */
export function leftoverProcesses(): string[] {
  const left: string[] = [];
  for (const p of spawned) {
    const found = spawnSync('pgrep', ['-g', String(p.pid)], { encoding: 'utf8' });
    if (found.stdout.trim()) left.push(`${p.name} (group ${p.pid}): ${found.stdout.trim().split('\n').join(', ')}`);
  }
  return left;
}

export interface Supervised {
  /** The process running now. */
  current(): ManagedProcess;
  /** Every exit the supervisor did not ask for (`running`, with all its output), and every failed start (`starting`), in order. */
  crashes: { phase: 'running' | 'starting'; output: string }[];
  /** Stops supervising and kills the process. */
  stop(): Promise<void>;
}

/**
 * Keeps a process running the way systemd or Kubernetes would: when it exits without being asked to,
 * its last output is kept and it is started again (after `backoffMs`), until `stop()`.
 */
export async function supervise(start: () => Promise<ManagedProcess>, backoffMs = 1_000): Promise<Supervised> {
  let proc = await start();
  let stopped = false;
  const crashes: Supervised['crashes'] = [];
  const watch = (p: ManagedProcess) => {
    void p.exited.then(async () => {
      if (stopped) return;
      // All of it: a crash's reason can be followed by pages of shutdown output.
      const { code, signal } = await p.exited;
      crashes.push({ phase: 'running', output: `${p.output()}\n[exited with ${signal ?? `code ${code}`}]` });
      for (;;) {
        await new Promise((r) => setTimeout(r, backoffMs));
        if (stopped) return;
        try {
          proc = await start();
          watch(proc);
          return;
        } catch (error) {
          // It could not start (e.g. its database is still down): like a supervisor, try again.
          crashes.push({ phase: 'starting', output: String((error as Error).message).slice(-4000) });
        }
      }
    });
  };
  watch(proc);
  return {
    current: () => proc,
    crashes,
    async stop() {
      stopped = true;
      await proc.kill('SIGKILL');
    },
  };
}
