/**
 * One backup at a time on a data folder: `npm run backup` and the schedule each pause and resume the
 * archiver, so a second backup while one runs is refused, naming the first; a lock left by a dead
 * process is taken over, and so is one from before the machine booted, whoever has its pid now.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BACKUP_LOCK, BackupRunning, holdBackupLock } from '#backup/embedded.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-lock-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the backup lock', () => {
  it('refuses a second backup while the first runs, and frees the folder when it ends', () => {
    const release = holdBackupLock(dir, 'npm run backup');
    expect(() => holdBackupLock(dir, 'the backup schedule')).toThrow(BackupRunning);
    expect(() => holdBackupLock(dir, 'the backup schedule')).toThrow(
      `another backup of ${dir} is running (npm run backup, pid ${process.pid}`,
    );
    release();
    expect(existsSync(path.join(dir, BACKUP_LOCK))).toBe(false);
    holdBackupLock(dir, 'the backup schedule')();
  });

  it('takes over a lock whose process is dead', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    writeFileSync(
      path.join(dir, BACKUP_LOCK),
      JSON.stringify({ pid: dead, what: 'npm run backup', since: new Date().toISOString(), token: 't1' }),
    );
    const release = holdBackupLock(dir, 'the backup schedule');
    expect(JSON.parse(readFileSync(path.join(dir, BACKUP_LOCK), 'utf8'))).toMatchObject({
      pid: process.pid,
      what: 'the backup schedule',
    });
    release();
  });

  it('takes over a lock left before the machine booted or by a dead process whose pid this one has now', () => {
    const lock = path.join(dir, BACKUP_LOCK);
    // pid 1 lives, but took no lock before this boot.
    writeFileSync(
      lock,
      JSON.stringify({ pid: 1, what: 'npm run backup', since: '2000-01-01T00:00:00.000Z', token: 't0' }),
    );
    holdBackupLock(dir, 'the backup schedule')();
    writeFileSync(
      lock,
      JSON.stringify({ pid: process.pid, what: 'npm run backup', since: new Date().toISOString(), token: 'not-mine' }),
    );
    const release = holdBackupLock(dir, 'the backup schedule');
    expect(JSON.parse(readFileSync(lock, 'utf8'))).toMatchObject({ pid: process.pid, what: 'the backup schedule' });
    release();
    expect(existsSync(lock)).toBe(false);
  });
});
