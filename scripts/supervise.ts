/**
 * Keeping child processes running, for `npm start` and `npm run cluster`: a child that dies is started
 * again after a backoff (doubling from 1 s up to 30 s, back to 1 s once it has run a minute), and the
 * death is logged; the other children are left running.
 */
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface RunningChild {
  pid: number;
  /** Resolves with how it ended, in words. */
  exited: Promise<string>;
}

export interface Supervisor {
  /** Keeps one child running: `start` resolves once it runs, with a promise of its exit. */
  keep(what: string, start: () => Promise<RunningChild>): { stopped: Promise<void> };
  readonly stopping: boolean;
  /** No more restarts from now on. */
  stop(): void;
}

export function createSupervisor(say: (line: string) => void): Supervisor {
  let stopping = false;
  return {
    get stopping() {
      return stopping;
    },
    stop() {
      stopping = true;
    },
    keep(what, start) {
      const stopped = (async () => {
        let backoff = FIRST_BACKOFF_MS;
        for (let restarts = 0; !stopping; restarts++) {
          const startedAt = Date.now();
          let how: string;
          try {
            const child = await start();
            say(`${what} running (pid ${child.pid}${restarts ? `, restart ${restarts}` : ''})`);
            how = await child.exited;
          } catch (error) {
            how = `failed to start: ${(error as Error).message.split('\n')[0]}`;
          }
          if (stopping) return;
          if (Date.now() - startedAt >= STABLE_AFTER_MS) backoff = FIRST_BACKOFF_MS;
          say(`${what} ${how}; starting it again in ${backoff / 1000} s`);
          await sleep(backoff);
          backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
        }
      })();
      return { stopped };
    },
  };
}

export function killGroup(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** Is a process with this pid running (EPERM: it is, under another user)? */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A child in its own process group (Ctrl-C reaches the supervisor, which stops children in order), its
 * output inherited or appended to a log file. When it exits, whatever it left in its group goes too.
 */
export function spawnGroup(
  command: string,
  args: string[],
  options: { env: NodeJS.ProcessEnv; logFile?: string },
): RunningChild & { stop(graceMs: number): Promise<void> } {
  const log = options.logFile ? createWriteStream(options.logFile, { flags: 'a' }) : null;
  const child = spawn(command, args, {
    env: options.env,
    stdio: log ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    detached: true,
  });
  if (!child.pid) throw new Error(`could not spawn ${command}`);
  if (log) {
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
  }
  const pid = child.pid;
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => {
      killGroup(pid, 'SIGKILL');
      log?.end();
      resolve(`(pid ${pid}) died (${signal ?? `exit code ${code}`})`);
    }),
  );
  return {
    pid,
    exited,
    async stop(graceMs) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      killGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
