/**
 * Scheduled backups' configuration (FANZHA_BACKUP_EVERY, _DIR, _KEEP) and their folder: what a bad
 * setting is told, and that only the schedule's own files are counted and deleted.
 */
import { mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  latestScheduledBackup,
  pruneScheduledBackups,
  removeStalePartials,
  scheduledBackupName,
  scheduledBackups,
} from '#backup/folder.js';
import { Registry } from 'prom-client';
import { backupGauges } from '#api/routes/metrics.js';
import { loadConfig } from '#config/index.js';

const KEY = 'b2'.repeat(32);
const data = path.resolve('/srv/fanzha/data');
const good = {
  FANZHA_DATA_DIR: data,
  FANZHA_BACKUP_KEY: KEY,
  FANZHA_BACKUP_EVERY: '1d',
  FANZHA_BACKUP_DIR: '/mnt/backups',
};

/** The configuration error `env` gets, as `npm start` prints it. */
function refusal(env: Record<string, string | undefined>) {
  try {
    loadConfig(env);
  } catch (error) {
    return { variable: (error as { variable?: string }).variable, message: (error as Error).message };
  }
  throw new Error('accepted');
}

describe('scheduled backup configuration', () => {
  it('is off unless FANZHA_BACKUP_EVERY is set; keeps 7 unless told', () => {
    expect(loadConfig({ FANZHA_DATA_DIR: data }).backup).toBeNull();
    // The folder and the count mean nothing without an interval (a schedule switched off keeps them set).
    expect(loadConfig({ FANZHA_DATA_DIR: data, FANZHA_BACKUP_DIR: '/mnt/backups' }).backup).toBeNull();
    expect(loadConfig(good).backup).toEqual({ everyMs: 86_400_000, dir: path.resolve('/mnt/backups'), keep: 7 });
    expect(loadConfig({ ...good, FANZHA_BACKUP_EVERY: '3s', FANZHA_BACKUP_KEEP: '2' }).backup).toEqual({
      everyMs: 3_000,
      dir: path.resolve('/mnt/backups'),
      keep: 2,
    });
  });

  it('refuses an interval without a folder or a key, naming what is missing', () => {
    const noDir = refusal({ ...good, FANZHA_BACKUP_DIR: '' });
    expect(noDir.variable).toBe('FANZHA_BACKUP_DIR');
    expect(noDir.message).toContain('when FANZHA_BACKUP_EVERY is set');
    const noKey = refusal({ ...good, FANZHA_BACKUP_KEY: '' });
    expect(noKey.variable).toBe('FANZHA_BACKUP_KEY');
    expect(noKey.message).toContain('is required when FANZHA_BACKUP_EVERY is set');
  });

  it('refuses a folder inside the data folder (or the data folder itself), saying which one that is', () => {
    for (const dir of [path.join(data, 'backups'), data, `${data}/pglite/../b`]) {
      const refused = refusal({ ...good, FANZHA_BACKUP_DIR: dir });
      expect(refused.variable, dir).toBe('FANZHA_BACKUP_DIR');
      expect(refused.message).toContain(`outside the data folder (FANZHA_DATA_DIR), best on another disk (${data})`);
    }
    // Beside it, or above it, is fine.
    expect(loadConfig({ ...good, FANZHA_BACKUP_DIR: `${data}-backups` }).backup?.dir).toBe(`${data}-backups`);
    expect(loadConfig({ ...good, FANZHA_BACKUP_DIR: path.dirname(data) }).backup?.dir).toBe(path.dirname(data));
  });

  it('refuses KEEP below 1 and an interval it cannot read or under a second', () => {
    for (const keep of ['0', '-1', 'all', '1.5'])
      expect(refusal({ ...good, FANZHA_BACKUP_KEEP: keep }).variable, keep).toBe('FANZHA_BACKUP_KEEP');
    for (const every of ['daily', '500ms', '0s', '-1h'])
      expect(refusal({ ...good, FANZHA_BACKUP_EVERY: every }).variable, every).toBe('FANZHA_BACKUP_EVERY');
  });

  it('is only for the embedded system: a cluster (TEMPORAL_ADDRESS or DATABASE_URL) is told to use its databases’ tools', () => {
    for (const elsewhere of [
      { TEMPORAL_ADDRESS: 'temporal:7233' },
      { DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/fanzha' },
    ]) {
      const refused = refusal({ ...good, ...elsewhere });
      expect(refused.variable).toBe('FANZHA_BACKUP_EVERY');
      expect(refused.message).toContain('is only for the embedded system');
      expect(refused.message).toContain('with their own tools');
    }
  });
});

describe('the scheduled backups’ folder', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-folder-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('names a backup by its UTC time, in an order its name sorts in', () => {
    expect(scheduledBackupName(new Date('2026-12-03T07:40:00.123Z'))).toBe('fanzha-20261203T074000.123Z.backup');
    expect(scheduledBackups(path.join(dir, 'not-yet'))).toEqual([]);
    expect(latestScheduledBackup(path.join(dir, 'not-yet'))).toBeNull();
  });

  it('keeps the newest KEEP of its own files and leaves every other file alone', () => {
    const times = ['2026-12-01T00:00:00.000Z', '2026-12-02T00:00:00.000Z', '2026-12-03T00:00:00.000Z'];
    for (const [i, t] of times.entries())
      writeFileSync(path.join(dir, scheduledBackupName(new Date(t))), 'x'.repeat(i + 1));
    const others = ['fanzha-manual.backup', 'notes.txt', 'fanzha-20261130T000000.000Z.backup.partial'];
    for (const other of others) writeFileSync(path.join(dir, other), 'mine');
    expect(latestScheduledBackup(dir)).toEqual({
      file: 'fanzha-20261203T000000.000Z.backup',
      at: new Date(times[2]!),
      bytes: 3,
    });
    expect(pruneScheduledBackups(dir, 2)).toEqual(['fanzha-20261201T000000.000Z.backup']);
    expect(pruneScheduledBackups(dir, 2)).toEqual([]);
    expect(readdirSync(dir).sort()).toEqual(
      [...others, 'fanzha-20261202T000000.000Z.backup', 'fanzha-20261203T000000.000Z.backup'].sort(),
    );
  });

  it('removes a partial file of its own only once nothing has written to it for a while', () => {
    const partial = 'fanzha-20261130T000000.000Z.backup.partial';
    expect(removeStalePartials(dir, 60_000)).toEqual([]);
    const old = new Date(Date.now() - 120_000);
    utimesSync(path.join(dir, partial), old, old);
    utimesSync(path.join(dir, 'notes.txt'), old, old);
    expect(removeStalePartials(dir, 60_000)).toEqual([partial]);
    expect(readdirSync(dir)).toContain('notes.txt');
  });
});

describe('the scheduled backups’ metrics', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-metrics-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const scrape = async (figures: ReturnType<typeof backupGauges>) =>
    (await Registry.merge(figures({ warn: () => {} })).metrics()).split('\n').filter((l) => !l.startsWith('#'));

  it('serve no last backup before the first (so no alert reads it as 56 years old), then the newest one', async () => {
    const figures = backupGauges({ everyMs: 3_600_000, dir, keep: 2 });
    const before = await scrape(figures);
    expect(before).toContain('fanzha_backup_interval_seconds 3600');
    expect(before.filter((l) => l.startsWith('fanzha_backup_last_'))).toEqual([]);

    const at = new Date('2026-12-03T00:00:00.000Z');
    writeFileSync(path.join(dir, scheduledBackupName(at)), 'x'.repeat(1234));
    const after = await scrape(figures);
    expect(after).toContain(`fanzha_backup_last_success_timestamp_seconds ${at.getTime() / 1000}`);
    expect(after).toContain('fanzha_backup_last_size_bytes 1234');
    expect(backupGauges(null)({ warn: () => {} })).toEqual([]);
  });
});
