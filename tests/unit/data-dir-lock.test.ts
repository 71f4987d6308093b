/**
 * The data folder's lock (scripts/data-dir-lock.ts): held while its process, or a process it runs,
 * lives; taken over once they are all dead; given up on release. Real processes, real files.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DataDirLocked, LOCK_FILE, dataDirHolder, lockDataDir } from '#scripts/data-dir-lock.js';

let dir: string;
let lockFile: string;
const children: ChildProcess[] = [];

/** A process that lives until the test ends. */
function living(): number {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

/** The pid of a process that has exited. */
async function dead(): Promise<number> {
  const child = spawn('true', [], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}

const writeLock = (held: object) => writeFileSync(lockFile, JSON.stringify(held));

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-lock-'));
  lockFile = path.join(dir, LOCK_FILE);
});

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('data folder lock', () => {
  it('is taken on a free folder, names its holder, and is given up on release', () => {
    const lock = lockDataDir(dir, 'npm start');
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, holder: 'npm start' });
    lock.setChildren([4242]);
    expect(JSON.parse(readFileSync(lockFile, 'utf8'))).toMatchObject({ pid: process.pid, children: [4242] });
    lock.release();
    expect(existsSync(lockFile)).toBe(false);
  });

  it('refuses while the holder lives, naming it', () => {
    const pid = living();
    writeLock({ pid, holder: 'npm start', since: '2026-12-01T00:00:00.000Z' });
    expect(() => lockDataDir(dir, 'npm run admin')).toThrow(DataDirLocked);
    expect(() => lockDataDir(dir, 'npm run admin')).toThrow(`in use by npm start (pid ${pid}`);
    expect(dataDirHolder(dir)?.pid).toBe(pid);
    // Left as it was.
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(pid);
  });

  it('refuses while a process the holder runs still lives, though the holder died', async () => {
    writeLock({ pid: await dead(), holder: 'npm start', since: '2026-12-01T00:00:00.000Z', children: [living()] });
    expect(() => lockDataDir(dir, 'npm start')).toThrow(DataDirLocked);
  });

  it('takes over a stale lock whose processes are all dead, and an unreadable one', async () => {
    const stale = await dead();
    writeLock({ pid: stale, holder: 'npm start', since: '2026-12-01T00:00:00.000Z', children: [await dead()] });
    expect(dataDirHolder(dir)).toBeNull();
    const said: string[] = [];
    const lock = lockDataDir(dir, 'npm start', (line) => said.push(line));
    expect(said).toEqual([`taking over the lock of npm start (pid ${stale}), which is no longer running`]);
    expect(JSON.parse(readFileSync(lockFile, 'utf8')).pid).toBe(process.pid);
    lock.release();

    writeFileSync(lockFile, 'not a lock');
    lockDataDir(dir, 'npm run audit').release();
    expect(existsSync(lockFile)).toBe(false);
  });
});
