/**
 * `npm run backup` and `npm run restore` on the embedded system (`npm start`), as an operator runs them:
 * a backup taken while the system runs, with a claimed alert in it, restored into a new empty folder,
 * where a new `npm start` still shows the alert and still takes the operator's decision on it (an
 * Update the restored workflow accepts). A backup with one byte changed, and a restore into a folder
 * that is not empty, are refused with a clear message.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ScheduleHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiverScheduleId } from '#audit/archiver-schedule.js';
import { RESTORING_MARKER } from '#backup/file.js';
import { loadConfig } from '#config/index.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { retryingFetch } from '#scripts/api-client/index.js';
import { newAlert, waitFor } from '../helpers/alerts.js';
import {
  embeddedSystemPlace,
  startNodeProcess,
  startSystemProcess,
  stopSystemProcess,
  type ManagedProcess,
} from '../helpers/processes.js';

const ADMIN_TOKEN = 'backup-test-admin-token-0123456789';
const BACKUP_KEY = 'a1'.repeat(32);

let work: string;
const running: ManagedProcess[] = [];

/** The embedded system on `dataDir`, on free ports, with its own audit.key in the folder (no FANZHA_AUDIT_KEY). */
async function systemEnv(dataDir: string) {
  return {
    ...(await embeddedSystemPlace(dataDir)),
    FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
    FANZHA_AUDIT_KEY: '',
    FANZHA_LOG_LEVEL: 'warn',
  };
}

async function start(dataDir: string) {
  const env: Record<string, string> & { PORT: string } = await systemEnv(dataDir);
  const system = await startSystemProcess(env);
  running.push(system);
  const base = `http://127.0.0.1:${env.PORT}`;
  const call = async (token: string, method: string, url: string, body?: unknown) => {
    // A process just started may shed load (503) on a busy machine: retried, as any client does.
    const response = await retryingFetch(
      29,
      () => 500,
    )(
      new Request(`${base}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  return { system, call, env };
}

/** Does `what` with the archiver schedule of the system on `env` (its Temporal dev server's). */
async function withArchiverSchedule<T>(env: Record<string, string>, what: (handle: ScheduleHandle) => Promise<T>) {
  const config = loadConfig(env);
  const client = createTemporalClient(config);
  try {
    return await what(client.schedule.getHandle(archiverScheduleId(config.temporal.taskQueue)));
  } finally {
    await client.connection.close();
  }
}

/** Runs a command-line script to its end; its exit code and output. */
async function run(name: string, script: string, env: Record<string, string>, args: string[]) {
  const proc = startNodeProcess(name, script, { FANZHA_AUDIT_KEY: '', ...env }, args);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
}

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-test-'));
});
afterAll(async () => {
  for (const system of running) await stopSystemProcess(system);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('backup and restore of the embedded system', () => {
  it('restores a running system’s backup into a new folder, where the alert is still there and still takes a decision', async () => {
    const first = path.join(work, 'first');
    const { system, call, env } = await start(first);

    const user = async (roles: string[]) => {
      const created = await call(ADMIN_TOKEN, 'POST', '/v1/users', { name: roles.join('+'), roles });
      expect(created.status).toBe(201);
      const issued = await call(ADMIN_TOKEN, 'POST', `/v1/users/${String(created.body.userId)}/tokens`, {
        label: 'backup-test',
      });
      expect(issued.status).toBe(201);
      return String(issued.body.token);
    };
    const platform = await user(['platform']);
    const operator = await user(['operator']);
    const alert = newAlert({ riskLevel: 'medium' });
    expect((await call(platform, 'POST', '/v1/alerts', alert)).status).toBeLessThan(300);
    const claimed = await call(operator, 'POST', `/v1/alerts/${alert.alertId}/claim`);
    expect(claimed.status, JSON.stringify(claimed.body)).toBe(200);

    // Backed up while it runs (once the application process has set up its archiver schedule, which it
    // does beside serving requests: a backup before that has no schedule to pause).
    await waitFor('the archiver schedule', async () =>
      /archiver schedule "[^"]+" (created|updated|unchanged)/.test(system.output()),
    );
    // A backup killed outright (kill -9) left the archiver paused, with its note: the next backup takes the pause over.
    await withArchiverSchedule(env, (handle) => handle.pause('backup'));
    const file = path.join(work, 'fanzha.backup');
    // With the running system's configuration (its data folder, its Temporal port).
    const backupEnv = { ...env, FANZHA_BACKUP_KEY: BACKUP_KEY };
    const backup = await run('backup', 'scripts/backup.ts', backupEnv, ['--to', file]);
    expect(backup.code, backup.output).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(backup.output).toContain('same filesystem as the data folder');
    expect(backup.output).not.toContain(BACKUP_KEY);
    expect(readFileSync(file).includes(Buffer.from(alert.alertId))).toBe(false); // encrypted
    const takenAt = /taken at (\S+)\)/.exec(backup.output)![1]!;
    // The archiver was paused while the snapshot was taken, and runs again after it.
    expect(backup.output).toContain('left paused by a backup that did not finish: this backup resumes it');
    expect(backup.output).toContain('archiver schedule paused while backing up');
    expect(backup.output).toContain('archiver schedule resumed');
    expect((await withArchiverSchedule(env, (handle) => handle.describe())).state.paused).toBe(false);

    const auditKey = path.join(work, 'audit.key.copy');
    copyFileSync(path.join(first, 'audit.key'), auditKey);
    const restoreEnv = (dataDir: string) => ({ FANZHA_DATA_DIR: dataDir, FANZHA_BACKUP_KEY: BACKUP_KEY });

    // One byte changed: refused, and the folder is left empty.
    const corrupt = path.join(work, 'corrupt.backup');
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(corrupt, bytes);
    const refusedDir = path.join(work, 'refused');
    const refused = await run('restore-corrupt', 'scripts/restore.ts', restoreEnv(refusedDir), [
      corrupt,
      '--audit-key',
      auditKey,
    ]);
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain('failed its integrity check');
    expect(readdirSync(refusedDir)).toEqual([]);

    // A folder that is not empty: refused before anything is read.
    const full = path.join(work, 'full');
    const keep = path.join(full, 'keep.txt');
    rmSync(full, { recursive: true, force: true });
    mkdirSync(full);
    writeFileSync(keep, 'mine');
    const notEmpty = await run('restore-not-empty', 'scripts/restore.ts', restoreEnv(full), [
      file,
      '--audit-key',
      auditKey,
    ]);
    expect(notEmpty.code, notEmpty.output).toBe(2);
    expect(notEmpty.output).toContain('it is not empty');
    expect(readFileSync(keep, 'utf8')).toBe('mine');

    // A restore killed half-way leaves its marker: npm start refuses that folder rather than run half a system.
    const unfinished = path.join(work, 'unfinished');
    mkdirSync(unfinished);
    writeFileSync(path.join(unfinished, RESTORING_MARKER), '{}');
    const halfRestored = startNodeProcess('npm-start-unfinished', 'scripts/start-all.ts', await systemEnv(unfinished));
    expect((await halfRestored.exited).code, halfRestored.output()).toBe(2);
    expect(halfRestored.output()).toContain(`a restore into ${unfinished} did not finish`);

    // The machine dies; the backup comes back on a new empty folder.
    await stopSystemProcess(system);
    const second = path.join(work, 'second');
    const restore = await run('restore', 'scripts/restore.ts', restoreEnv(second), [file, '--audit-key', auditKey]);
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toContain(`decisions after ${takenAt} are lost`);
    expect(restore.output).toContain(`re-push alerts from ${takenAt}`);
    expect(existsSync(path.join(second, 'temporal.sqlite'))).toBe(true);
    expect(existsSync(path.join(second, RESTORING_MARKER))).toBe(false);
    // The archive's key came from the operator (--audit-key), checked against the one it was sealed with.
    expect(readFileSync(path.join(second, 'audit.key'), 'utf8')).toBe(readFileSync(auditKey, 'utf8'));

    const restored = await start(second);
    const seen = await restored.call(operator, 'GET', `/v1/alerts/${alert.alertId}`);
    expect(seen.status, JSON.stringify(seen.body)).toBe(200);
    // As it was when backed up: held by the operator who claimed it.
    expect(claimed.body.state).toBe('calling');
    expect(seen.body).toMatchObject({ alertId: alert.alertId, state: 'calling', assignee: claimed.body.assignee });
    // The restored workflow still takes the operator's decision (an Update).
    const decided = await restored.call(operator, 'POST', `/v1/alerts/${alert.alertId}/call-result`, {
      result: 'contacted',
      outcome: 'dissuaded',
    });
    expect(decided.status, JSON.stringify(decided.body)).toBe(200);
    await waitFor('the read model reconciled after the restore', async () =>
      /read model reconciled after the restore/.test(restored.system.output()),
    );
    expect(existsSync(path.join(second, 'restored-from-backup.json'))).toBe(false);
    // The archiver, paused in the snapshot, runs again on the restored system.
    const schedule = await withArchiverSchedule(restored.env, (handle) => handle.describe());
    expect(schedule.state.paused).toBe(false);
  }, 300_000);
});
