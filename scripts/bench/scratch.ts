/**
 * What the bench and the decision profile both set up for a run of their own: a scratch folder with
 * its undo list (run in reverse, also on Ctrl-C), a policy whose deadlines do not fire mid-run, a
 * database on the local PostgreSQL server, and app processes (`npm run worker` / `npm run api`'s entries).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { LOCAL_POSTGRES_URL } from '#config/index.js';

export interface Scratch {
  dir: string;
  /** Adds an undo step: the steps run last first. */
  undo(step: () => unknown): void;
  cleanup(): Promise<void>;
}

export function scratch(prefix: string): Scratch {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const steps: (() => unknown)[] = [];
  const cleanup = async () => {
    for (const step of steps.reverse()) await Promise.resolve(step()).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
  return { dir, undo: (step) => void steps.push(step), cleanup };
}

/**
 * Deadlines an hour or more away: a run measures the API and the engine, not an escalation storm (with the
 * default 5-minute claim deadline every unclaimed alert of an early phase escalates during a later one).
 * Written into the scratch folder for FANZHA_POLICY_FILE.
 */
export const LOAD_POLICY = { alert: { claimSla: { high: '1h', medium: '2h', low: '4h' } } };
export function writeLoadPolicy(run: Scratch): string {
  const file = path.join(run.dir, 'policy.json');
  writeFileSync(file, JSON.stringify(LOAD_POLICY));
  return file;
}

/** A database of its own on the local server, dropped at cleanup; its URL. */
export async function scratchDatabase(run: Scratch, prefix: string): Promise<string> {
  const name = `${prefix}_${Date.now().toString(36)}`;
  const admin = postgres(LOCAL_POSTGRES_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  run.undo(async () => {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  });
  const url = new URL(LOCAL_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** An app process (`worker/main.ts`, `api/server.ts`) whose error lines are told; `stop` drains it. */
export function spawnPart(
  entry: string,
  name: string,
  env: NodeJS.ProcessEnv,
  say: (line: string) => void,
  nodeFlags: string[] = [],
): { child: ChildProcess; stop(): Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', ...nodeFlags, entry], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d) => {
    if (/error/i.test(String(d))) say(`${name}: ${String(d).trim().slice(0, 300)}`);
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    },
  };
}
