/**
 * Scheduled backups on the embedded system (`npm start` with FANZHA_BACKUP_EVERY): the Temporal
 * Schedule has the application process write a backup every 3 s into FANZHA_BACKUP_DIR, keeping the
 * newest 2 (the oldest deleted); each kept file is a whole backup that `npm run restore` takes; /readyz
 * and /metrics show the newest one's time and size. A bad setting stops `npm start` with the variable's
 * name, and a start without FANZHA_BACKUP_EVERY deletes the schedule. The schedule itself (ensureBackupSchedule)
 * is created once, brought in line with a new interval, and deleted, against the test's Temporal.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Client, Connection, ScheduleOverlapPolicy, ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decryptBackupFile, extractParts } from '#backup/file.js';
import { scheduledBackups } from '#backup/folder.js';
import { backupScheduleId, ensureBackupSchedule } from '#backup/schedule.js';
import { loadConfig } from '#config/index.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { waitFor } from '../helpers/alerts.js';
import {
  embeddedSystemPlace,
  startNodeProcess,
  startSystemProcess,
  stopSystemProcess,
  type ManagedProcess,
} from '../helpers/processes.js';

const BACKUP_KEY = 'c3'.repeat(32);
const METRICS_TOKEN = 'backup-schedule-metrics-token-0123';

let work: string;
const running: ManagedProcess[] = [];

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-schedule-test-'));
});
afterAll(async () => {
  for (const system of running) await stopSystemProcess(system);
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The `scheduled backup written` lines `npm start` printed so far: file names in the order written. */
const written = (system: ManagedProcess) =>
  [...system.output().matchAll(/scheduled backup written: (\S+) \((\d+) bytes/g)].map((m) => path.basename(m[1]!));

describe('scheduled backups of the embedded system', () => {
  it('refuses to start on a bad setting, naming the variable', async () => {
    const dataDir = path.join(work, 'refused');
    const base = { ...(await embeddedSystemPlace(dataDir)), FANZHA_BACKUP_EVERY: '3s', FANZHA_BACKUP_KEY: BACKUP_KEY };
    for (const [env, says] of [
      [{ ...base }, 'Configuration error: FANZHA_BACKUP_DIR must name the folder'],
      [{ ...base, FANZHA_BACKUP_DIR: path.join(dataDir, 'backups') }, 'outside the data folder'],
      [{ ...base, FANZHA_BACKUP_DIR: path.join(work, 'b'), FANZHA_BACKUP_KEY: '' }, 'FANZHA_BACKUP_KEY is required'],
      [{ ...base, FANZHA_BACKUP_DIR: path.join(work, 'b'), FANZHA_BACKUP_KEEP: '0' }, 'FANZHA_BACKUP_KEEP must be'],
    ] as const) {
      const start = startNodeProcess('npm-start-refused', 'scripts/start-all.ts', env);
      const { code } = await start.exited;
      expect(code, start.output()).toBe(2);
      expect(start.output()).toContain(says);
    }
    // Nothing was started or made.
    expect(existsSync(path.join(dataDir, 'temporal.sqlite'))).toBe(false);
  }, 120_000);

  it('writes a backup every 3 s, keeps the newest 2, and shows the newest in /readyz and /metrics', async () => {
    const dataDir = path.join(work, 'data');
    const backups = path.join(work, 'backups');
    const env = {
      ...(await embeddedSystemPlace(dataDir)),
      FANZHA_LOG_LEVEL: 'warn',
      FANZHA_METRICS_TOKEN: METRICS_TOKEN,
      FANZHA_BACKUP_KEY: BACKUP_KEY,
      FANZHA_BACKUP_EVERY: '3s',
      FANZHA_BACKUP_DIR: backups,
      FANZHA_BACKUP_KEEP: '2',
    };
    const system = await startSystemProcess(env);
    running.push(system);
    const base = `http://127.0.0.1:${env.PORT}`;
    expect(system.output()).toContain(`backup schedule "fanzha-backup" created (every 3s into ${backups}, keeping 2)`);

    await waitFor('three scheduled backups', async () => written(system).length >= 3, 90_000);
    const names = written(system);
    // Two kept, the oldest deleted, and told.
    expect(system.output()).toContain(`deleted the older ${names[0]}`);
    const kept = scheduledBackups(backups);
    expect(kept.length).toBeLessThanOrEqual(2);
    expect(kept.map((b) => b.file)).not.toContain(names[0]);
    expect(readdirSync(backups).filter((f) => f.endsWith('.backup')).length).toBeLessThanOrEqual(2);

    // Each kept file is a whole backup: its tag, its parts' hashes, and a time in its name that is its manifest's.
    for (const backup of kept) {
      const plain = path.join(work, `${backup.file}.plain`);
      await decryptBackupFile(path.join(backups, backup.file), Buffer.from(BACKUP_KEY, 'hex'), plain);
      const manifest = await extractParts(plain, {
        'temporal.sqlite': path.join(work, 'temporal.sqlite.part'),
        'pglite.tar.gz': path.join(work, 'pglite.tar.gz.part'),
      });
      rmSync(plain);
      expect(manifest.parts.map((p) => p.name)).toEqual(['temporal.sqlite', 'pglite.tar.gz']);
      const lag = new Date(manifest.takenAt).getTime() - backup.at.getTime();
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(60_000);
    }

    // /readyz and /metrics show the newest backup (the next one may land in between: taken before and after).
    const before = scheduledBackups(backups).at(-1)!;
    const ready = (await (await fetch(`${base}/readyz`)).json()) as {
      backup: { lastAt: string; bytes: number; file: string };
    };
    const metrics = await (
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    ).text();
    const after = scheduledBackups(backups).at(-1)!;
    expect([before.file, after.file]).toContain(ready.backup.file);
    const shown = [before, after].find((b) => b.file === ready.backup.file)!;
    expect(ready.backup).toEqual({ lastAt: shown.at.toISOString(), bytes: shown.bytes, file: shown.file });
    const figure = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(figure('fanzha_backup_interval_seconds')).toBe(3);
    const metricAt = figure('fanzha_backup_last_success_timestamp_seconds');
    expect([before.at.getTime() / 1000, after.at.getTime() / 1000]).toContain(metricAt);
    expect(figure('fanzha_backup_last_size_bytes')).toBe(
      [before, after].find((b) => b.at.getTime() / 1000 === metricAt)!.bytes,
    );
    expect(shown.bytes).toBeGreaterThan(100_000);

    // A kept backup is one `npm run restore` takes into an empty folder.
    const restoreDir = path.join(work, 'restored');
    const restore = startNodeProcess(
      'restore-scheduled',
      'scripts/restore.ts',
      { FANZHA_DATA_DIR: restoreDir, FANZHA_BACKUP_KEY: BACKUP_KEY },
      [path.join(backups, kept.at(-1)!.file)],
    );
    expect((await restore.exited).code, restore.output()).toBe(0);
    expect(statSync(path.join(restoreDir, 'temporal.sqlite')).size).toBeGreaterThan(0);

    // Started again without FANZHA_BACKUP_EVERY: the schedule is deleted, the backups are left.
    await stopSystemProcess(system);
    const left = scheduledBackups(backups).map((b) => b.file);
    const { FANZHA_BACKUP_EVERY: _every, ...without } = env;
    const again = await startSystemProcess(without);
    running.push(again);
    await waitFor('the backup schedule deleted', async () =>
      again.output().includes('backup schedule "fanzha-backup" deleted (FANZHA_BACKUP_EVERY is not set)'),
    );
    const client = createTemporalClient(loadConfig(without));
    try {
      await expect(client.schedule.getHandle(backupScheduleId('fanzha')).describe()).rejects.toBeInstanceOf(
        ScheduleNotFoundError,
      );
    } finally {
      await client.connection.close();
    }
    const readyWithout = (await (await fetch(`${base}/readyz`)).json()) as Record<string, unknown>;
    expect(readyWithout).not.toHaveProperty('backup');
    expect(scheduledBackups(backups).map((b) => b.file)).toEqual(left);
  }, 300_000);
});

describe('the backup schedule', () => {
  it('is created once, brought in line with a new interval, and deleted when no interval is given', async () => {
    const connection = await Connection.connect({ address: inject('temporalAddress') });
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = `backup-schedule-${randomBytes(4).toString('hex')}`;
    const handle = client.schedule.getHandle(backupScheduleId(taskQueue));
    try {
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: null })).toBe('none');
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: 3_600_000 })).toBe('created');
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: 3_600_000 })).toBe('unchanged');
      const created = await handle.describe();
      expect(created.action).toMatchObject({ type: 'startWorkflow', workflowType: 'BackupWorkflow', taskQueue });
      expect(created.policies).toMatchObject({ overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 3_600_000 });
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: 86_400_000 })).toBe('updated');
      const updated = await handle.describe();
      expect(updated.spec.intervals).toEqual([expect.objectContaining({ every: 86_400_000 })]);
      // A backup missed while the system was down is taken when it is back, up to an interval late.
      expect(updated.policies).toMatchObject({ overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: 86_400_000 });
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: 86_400_000 })).toBe('unchanged');
      expect(await ensureBackupSchedule(client, { taskQueue, everyMs: null })).toBe('deleted');
      await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
    } finally {
      await handle.delete().catch(() => {});
      await connection.close();
    }
  });
});
