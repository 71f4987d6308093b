/**
 * `npm run backup` and `npm run restore` on a cluster (issue 19 items 3 and 4): the reliability suite's
 * seeded load runs on a self-hosted Temporal Server on PostgreSQL; `npm run backup` (a real process,
 * pg_dump of the three databases) is taken in the middle of it; the load finishes; the cluster stops and
 * its three databases are dropped; `npm run restore` brings them back (a file with one byte changed is
 * refused first, and a restore over databases that are no longer empty after it); the cluster starts
 * again on them, `npm run restore -- --finish` resumes the archiver and reconciles; the same plan is
 * sent again with the same Idempotency-Keys, as the platform and the operators would after being told
 * what was lost. Then every alert and case finishes as planned, one bank effect per instruction, the
 * read model reconciles, every history replays, and the audit archive's chain verifies. A backup with
 * pg_dump missing or older than the server, or while another runs, is refused (exit 2) before anything
 * is touched.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { openDatabase, type DatabaseHandle } from '#db/client.js';
import { alertWorkflowId } from '#domain/alert.js';
import { stopPaymentWorkflowId } from '#domain/stop-payment.js';
import { withDatabase } from '#db/client.js';
import { dropClusterDatabases, freePortBlock, privateClusterPorts } from '#scripts/cluster/temporal.js';
import { startCluster, type Cluster } from '#scripts/cluster/cluster.js';
import { waitFor } from '../helpers/alerts.js';
import { startNodeProcess, stopAllProcesses, writePolicyFile, type ManagedProcess } from '../helpers/processes.js';
import {
  awaitLoad,
  buildPlan,
  createActorsThroughApi,
  deleteSchedulesOf,
  expectPlanFinishedOn,
  fetchSender,
  newRunState,
  onlyEventTimes,
  RELIABILITY_POLICY,
  runPlan,
  seedBank,
  typedClient,
  userThroughApi,
  waitAllClosed,
  type Actors,
  type LedgerEntry,
} from '../reliability/scenario.js';

const ADMIN_TOKEN = 'cluster-backup-admin-token-0123456789';
const BACKUP_KEY = 'c3'.repeat(32);
const TASK_QUEUE = 'fanzha-cluster-backup-test';
const NAME = `fzbackup_${process.pid}`;
const DATABASES = [NAME, `${NAME}_temporal`, `${NAME}_temporal_visibility`];
const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES_URL;
const dataDir = path.join(os.tmpdir(), `fanzha-cluster-backup-test-${process.pid}`);
// The reliability policy, with the call and visit timers long enough to outlast the restore: a timer
// keeps its deadline through a restore, and one that passed while the cluster was down fires at once.
const POLICY = {
  ...RELIABILITY_POLICY,
  alert: {
    ...RELIABILITY_POLICY.alert,
    callTimeout: '30m',
    visitSla: { high: '30m', medium: '30m', low: '30m' },
  },
};

let cluster: Cluster | null = null;
let connection: Connection | null = null;
let database: DatabaseHandle | null = null;
let bank: ManagedProcess;
let bankGatewayUrl: string;
let ports: { port: number; temporalPort: number };
const said: string[] = [];

/** The cluster on its databases (the same name, ports and data folder each time), and a client of its Temporal. */
async function start() {
  cluster = await startCluster({
    workers: 1,
    apis: 1,
    adminUrl,
    name: NAME,
    host: '127.0.0.1',
    ...ports,
    historyShards: 4,
    retentionDays: 30,
    namespace: 'default',
    dataDir,
    env: {
      FANZHA_TASK_QUEUE: TASK_QUEUE,
      FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
      FANZHA_POLICY_FILE: writePolicyFile(POLICY),
      FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
      FANZHA_LOG_LEVEL: 'warn',
      // The bank outlives the cluster (its ledger is the bank's, not part of any backup).
      BANK_GATEWAY_URL: bankGatewayUrl,
      FANZHA_ARCHIVE_EVERY: '3s',
    },
    log: (line) => said.push(line),
  });
  connection = await Connection.connect({ address: cluster.temporalAddress });
  database = await openDatabase({ url: cluster.databaseUrl, dataDir });
  return { cluster, client: new Client({ connection, namespace: 'default' }), database };
}

async function stop() {
  await cluster?.stop();
  await database?.close();
  await connection?.close();
  cluster = null;
  database = null;
  connection = null;
}

/** The configuration `npm run backup` and `npm run restore` are run with: the cluster's own. */
const toolEnv = () => ({
  TEMPORAL_ADDRESS: `127.0.0.1:${ports.temporalPort}`,
  TEMPORAL_NAMESPACE: 'default',
  DATABASE_URL: withDatabase(adminUrl, NAME),
  FANZHA_TASK_QUEUE: TASK_QUEUE,
  FANZHA_BACKUP_KEY: BACKUP_KEY,
  // The key the cluster's processes seal the archive with (npm run cluster keeps it in its folder).
  FANZHA_AUDIT_KEY: readFileSync(path.join(dataDir, 'cluster', 'audit.key'), 'utf8').trim(),
  BANK_GATEWAY_URL: bankGatewayUrl,
});

async function run(name: string, script: string, args: string[], env: Record<string, string> = {}) {
  const proc = startNodeProcess(name, script, { ...toolEnv(), ...env }, args);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
}

async function existingDatabases(): Promise<string[]> {
  const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ datname: string }[]>`select datname from pg_database where datname in ${sql(DATABASES)}`;
    return rows.map((r) => r.datname).sort();
  } finally {
    await sql.end({ timeout: 1 });
  }
}

beforeAll(async () => {
  ports = await privateClusterPorts(1);
  const bankPort = await freePortBlock(40_000, 5_000, [0]);
  bank = startNodeProcess('bank-simulator', 'scripts/cluster/bank-simulator.ts', {
    HOST: '127.0.0.1',
    PORT: String(bankPort),
  });
  bankGatewayUrl = `http://127.0.0.1:${bankPort}/sim/bank`;
  await waitFor('the bank simulator', async () => {
    if (!bank.alive()) throw new Error(`the bank simulator exited:\n${bank.output()}`);
    return (await fetch(`http://127.0.0.1:${bankPort}/healthz`).catch(() => null))?.ok === true;
  });
}, 60_000);

afterAll(async () => {
  if (connection) await deleteSchedulesOf(new Client({ connection, namespace: 'default' }), TASK_QUEUE);
  await stop();
  await stopAllProcesses();
  await dropClusterDatabases(adminUrl, NAME);
  // The cluster's configuration, logs and the backup files.
  rmSync(dataDir, { recursive: true, force: true });
}, 180_000);

describe('backup and restore of a cluster', () => {
  it('restores a backup taken under load: every alert and case finishes as planned, the read model reconciles, every history replays', async () => {
    const testStarted = Date.now();
    let { cluster: c, client } = await start();
    const actors: Actors = await createActorsThroughApi(c.url, ADMIN_TOKEN, 4);
    const plan = buildPlan(1919, 'bk', { alerts: 60, cases: 10, operators: actors.operators.length });
    await seedBank(plan, { bankUrl: bankGatewayUrl });
    const state = newRunState(plan);
    // Releases wait for the backup to end: bank instructions sent after it, which the restore must list, are sure.
    let letRelease!: () => void;
    state.beforeRelease = new Promise<void>((resolve) => (letRelease = resolve));
    const direct = fetchSender(() => cluster!.url);
    // Paced while the backup runs (each request waits a second first), so that the load goes on
    // through all three dumps however fast this machine runs the rest of it.
    let pacing = 0;
    const send: typeof direct = async (...args) => {
      if (pacing > 0) await new Promise((r) => setTimeout(r, pacing));
      return direct(...args);
    };
    // Sixteen at a time: the ten cases begin first, alerts beside them.
    const load = runPlan(send, actors, plan, state, 16);

    // Backed up in the middle of the load, as an operator runs it: once a case is approved, so that
    // cases and alerts are mid-way and bank instructions are still to come.
    await waitFor(
      'a case to be approved and alerts to be pushed',
      async () =>
        [...state.answered].some((k) => k.endsWith(':approve')) &&
        [...state.answered].filter((k) => k.endsWith(':ingest')).length >= 8,
      180_000,
    );
    const file = path.join(dataDir, 'cluster.backup');
    const backupStarted = Date.now();
    pacing = 1_000;
    const stepsAtBackupStart = state.steps;
    const answeredBefore = new Set(state.answered);
    const backup = await run('backup', 'scripts/backup.ts', ['--to', file]);
    letRelease();
    pacing = 0;
    const backupMs = Date.now() - backupStarted;
    expect(backup.code, backup.output).toBe(0);
    const stepsAtBackup = state.steps;
    const stepsBeforeBackup = stepsAtBackupStart;
    expect(stepsAtBackup, `the load was still running when the backup ended:\n${backup.output}`).toBeLessThan(
      state.totalSteps,
    );
    expect(stepsAtBackup, 'steps answered while the backup ran').toBeGreaterThan(stepsBeforeBackup);
    expect(backup.output).toContain('archiver schedule paused while backing up');
    expect(backup.output).toContain('archiver schedule resumed');
    // Fanzha's database first, then Temporal's visibility database, its persistence database last.
    const dumped = [...backup.output.matchAll(/dumped (.+?) "/g)].map((m) => m[1]);
    expect(dumped).toEqual(['Fanzha’s database', 'Temporal’s visibility database', 'Temporal’s persistence database']);
    expect(backup.output).not.toContain(BACKUP_KEY);
    const takenAt = new Date(/taken at (\S+)\)/.exec(backup.output)![1]!);

    await awaitLoad(load, state, 300_000);
    expect(state.failures).toEqual([]);
    await waitAllClosed(client, TASK_QUEUE, 180_000);

    // Client tools missing, or older than the server: said, exit 2, before anything is touched.
    const fakeBin = path.join(dataDir, 'old-pg-bin');
    mkdirSync(fakeBin, { recursive: true });
    writeFileSync(path.join(fakeBin, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    const oldTools = await run('backup-old-pg-dump', 'scripts/backup.ts', ['--to', `${file}.old`], {
      PATH: `${fakeBin}:${process.env.PATH ?? ''}`,
    });
    expect(oldTools.code, oldTools.output).toBe(2);
    expect(oldTools.output).toMatch(/pg_dump 9\.6 is older than the server of Fanzha’s database \(PostgreSQL \d+/);
    expect(oldTools.output).not.toContain('archiver schedule paused');
    const noTools = await run('backup-no-pg-dump', 'scripts/backup.ts', ['--to', `${file}.none`], {
      PATH: fakeBin.replace(/old-pg-bin$/, 'nowhere'),
    });
    expect(noTools.code, noTools.output).toBe(2);
    expect(noTools.output).toContain('pg_dump is not on PATH');
    // A backup already running (holding the cluster's backup lock): a second one is refused.
    const running = postgres(withDatabase(adminUrl, NAME), { max: 1, onnotice: () => {} });
    await running`select pg_advisory_lock(hashtext('fanzha cluster backup'))`;
    const second = await run('backup-second', 'scripts/backup.ts', ['--to', `${file}.second`]);
    await running.end({ timeout: 1 });
    expect(second.code, second.output).toBe(2);
    expect(second.output).toContain('another backup of this cluster is running');
    expect(existsSync(`${file}.old`) || existsSync(`${file}.none`) || existsSync(`${file}.second`)).toBe(false);

    // The cluster is lost with its databases.
    await stop();
    await dropClusterDatabases(adminUrl, NAME);
    expect(await existingDatabases()).toEqual([]);

    // One byte changed: refused, and no database is made.
    const corrupt = path.join(dataDir, 'corrupt.backup');
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(corrupt, bytes);
    const refused = await run('restore-corrupt', 'scripts/restore.ts', [corrupt]);
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toContain('failed its integrity check');
    expect(await existingDatabases()).toEqual([]);

    // A cluster's file given to the embedded restore (no TEMPORAL_ADDRESS, no DATABASE_URL): refused, the folder left empty.
    const embeddedDir = path.join(dataDir, 'embedded-restore');
    const embedded = await run('restore-embedded', 'scripts/restore.ts', [file], {
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
      FANZHA_DATA_DIR: embeddedDir,
    });
    expect(embedded.code, embedded.output).toBe(1);
    expect(embedded.output).toContain('this is a backup of a cluster');
    expect(readdirSync(embeddedDir)).toEqual([]);

    const restoreStarted = Date.now();
    const restore = await run('restore', 'scripts/restore.ts', [file]);
    const restoreMs = Date.now() - restoreStarted;
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toContain(`decisions after ${takenAt.toISOString()} are lost`);
    expect(restore.output).toContain(`re-push alerts from ${takenAt.toISOString()}`);
    // The bank kept what it applied after the backup: listed for the officers, from its ledger.
    const ledger = async () =>
      ((await (await fetch(`${bankGatewayUrl}/ledger`)).json()) as { items: (LedgerEntry & { at: string })[] }).items;
    const appliedAfter = (await ledger()).filter((e) => e.outcome === 'applied' && e.at >= takenAt.toISOString());
    expect(appliedAfter.length).toBeGreaterThan(0);
    expect(restore.output).toContain(
      `the banks applied ${appliedAfter.length} instruction(s) after ${takenAt.toISOString()}`,
    );
    for (const entry of appliedAfter) expect(restore.output).toContain(`${entry.action} ${entry.instructionId}`);
    expect(restore.output).toContain('npm run restore -- --finish');
    expect(await existingDatabases()).toEqual([...DATABASES].sort());

    // Databases that are not empty (the ones just restored): refused, nothing touched.
    const again = await run('restore-not-empty', 'scripts/restore.ts', [file]);
    expect(again.code, again.output).toBe(2);
    expect(again.output).toContain('it is not empty');

    // The cluster again, on the restored databases.
    const restartedAt = Date.now();
    ({ cluster: c, client } = await start());
    const finish = await run('restore-finish', 'scripts/restore.ts', ['--finish']);
    expect(finish.code, finish.output).toBe(0);
    // The backup paused the archiver, and its copy of Temporal says so: resumed here.
    expect(finish.output).toContain('archiver schedule resumed (the backup had paused it)');
    expect(finish.output).toContain('read model reconciled after the restore');

    // Every alert and case answered before the backup began is there, as the backup left it: its
    // workflow, begun before the backup, and its read-model row.
    const alertsBefore = plan.alerts.filter((a) => answeredBefore.has(`${a.alertId}:ingest`));
    const casesBefore = plan.cases.filter((k) => answeredBefore.has(`${plan.prefix}-${plan.seed}-case-${k.n}:file`));
    expect(alertsBefore.length).toBeGreaterThan(0);
    expect(casesBefore.length).toBeGreaterThan(0);
    const look = typedClient(send, newRunState(plan).traffic, actors.supervisor);
    for (const a of alertsBefore) {
      const { startTime } = await client.workflow.getHandle(alertWorkflowId(a.alertId)).describe();
      expect(startTime.getTime(), `alert ${a.alertId}`).toBeLessThan(takenAt.getTime());
      const seen = await look.GET('/v1/alerts/{alertId}', { params: { path: { alertId: a.alertId } } });
      expect(seen.response.status, `alert ${a.alertId}, pushed before the backup`).toBe(200);
    }
    for (const k of casesBefore) {
      const stopPaymentId = state.caseIds.get(k.n)!;
      const { startTime } = await client.workflow.getHandle(stopPaymentWorkflowId(stopPaymentId)).describe();
      expect(startTime.getTime(), `case ${k.n}`).toBeLessThan(takenAt.getTime());
      const seen = await look.GET('/v1/stop-payments/{stopPaymentId}', { params: { path: { stopPaymentId } } });
      expect(seen.response.status, `case ${k.n}, filed before the backup`).toBe(200);
    }
    const restoredAlerts = alertsBefore.length;

    // Sent again, with the same keys: the platform re-pushes what it sent, the operators decide again.
    const resumed = newRunState(plan);
    await awaitLoad(runPlan(send, actors, plan, resumed, 12), resumed, 300_000);
    await waitAllClosed(client, TASK_QUEUE, 180_000);
    await expectPlanFinishedOn(
      {
        client,
        db: database!.db,
        taskQueue: TASK_QUEUE,
        ledger,
        workflowBundlePath: c.workflowBundlePath,
      },
      plan,
      resumed,
      onlyEventTimes,
    );

    // The archive the restored system writes on from the restored one still verifies.
    const auditor = await userThroughApi(c.url, ADMIN_TOKEN, ['auditor']);
    await waitFor(
      'an archiver run on the restored cluster',
      async () =>
        (
          await client.workflow.count(
            `WorkflowType = 'ArchiverWorkflow' AND TaskQueue = '${TASK_QUEUE}' AND ExecutionStatus = 'Completed' AND StartTime > '${new Date(restartedAt).toISOString()}'`,
          )
        ).count > 0,
      60_000,
    );
    const verified = await fetch(`${c.url}/v1/audit/archive/verify`, {
      headers: { authorization: `Bearer ${auditor.token}` },
    });
    expect(verified.status).toBe(200);
    expect(await verified.json()).toMatchObject({ ok: true });
    console.log(
      `cluster backup: steps ${stepsBeforeBackup}→${stepsAtBackup} of ${state.totalSteps} during the backup (${backupMs} ms); restore ${restoreMs} ms; ${restoredAlerts}/${plan.alerts.length} alerts and ${casesBefore.length}/${plan.cases.length} cases answered before the backup restored; ${appliedAfter.length} bank instructions applied after it; test ${Math.round((Date.now() - testStarted) / 1000)} s`,
    );
  }, 900_000);
});
