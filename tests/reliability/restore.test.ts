/**
 * A dead disk under load, as the operators would live it: `npm start` runs the reliability suite's
 * seeded load against a bank gateway of its own (the bank simulator as a separate process, as a real
 * bank outlives the center's machine); `npm run backup` runs half-way through it; the load finishes;
 * the machine dies (the system stops, its data folder is deleted); `npm run restore` brings the backup
 * back into an empty folder, listing what the banks applied after the backup; `npm start` runs again.
 * Then:
 * - every alert and case answered before the backup is there, as the backup left it;
 * - the platform re-pushes and the officers redo what was lost — the same plan sent again with the
 *   same Idempotency-Keys — and every plan ends as planned: the restored workflows' timers fire and
 *   their Updates are accepted, each decision counted once, each bank instruction applied once;
 * - the read model reconciles with the workflows, every history replays, and the audit archive's
 *   chain, from the backup and beyond it, verifies.
 */
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { temporalDatabaseFile } from '#backup/embedded.js';
import { loadConfig } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { alertWorkflowId } from '#domain/alert.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { findOrBuildTemporalCli } from '#scripts/temporal-cli.js';
import { startDevServerOnFreePort } from '#scripts/temporal-dev-server.js';
import { freePort } from '../global-setup.js';
import { waitFor } from '../helpers/alerts.js';
import {
  embeddedSystemPlace,
  startNodeProcess,
  startSystemProcess,
  stopSystemProcess,
  writePolicyFile,
} from '../helpers/processes.js';
import {
  awaitLoad,
  buildPlan,
  closeWithProcesses,
  createActorsThroughApi,
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
  type LedgerEntry,
} from './scenario.js';

const ADMIN_TOKEN = 'restore-test-admin-token-0123456789';
const BACKUP_KEY = 'c3'.repeat(32);

let work: string;
let bankUrl: string;

/** Runs a command-line script to its end; its exit code and output. */
async function run(name: string, script: string, env: Record<string, string>, args: string[]) {
  const proc = startNodeProcess(name, script, { FANZHA_AUDIT_KEY: '', ...env }, args);
  const { code } = await proc.exited;
  return { code, output: proc.output() };
}

/** Every instruction the bank got, in order (its ledger outlives the center's machine). */
const ledger = async (): Promise<(LedgerEntry & { at: string; account: string })[]> =>
  ((await (await fetch(`${bankUrl}/ledger`)).json()) as { items: never[] }).items;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'fanzha-restore-test-'));
  const port = await freePort();
  startNodeProcess('bank-simulator', 'scripts/cluster/bank-simulator.ts', {
    HOST: '127.0.0.1',
    PORT: String(port),
  });
  bankUrl = `http://127.0.0.1:${port}/sim/bank`;
  await waitFor(
    'the bank simulator',
    async () => (await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => null))?.ok === true,
  );
});

afterAll(async () => {
  await closeWithProcesses(undefined);
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a backup taken under load, restored after the machine died', () => {
  it('brings back every alert and case of the backup, and each still ends as planned', async () => {
    const dataDir = path.join(work, 'data');
    const env: Record<string, string> & { PORT: string } = {
      ...(await embeddedSystemPlace(dataDir)),
      FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
      FANZHA_AUDIT_KEY: '',
      FANZHA_POLICY_FILE: writePolicyFile(RELIABILITY_POLICY),
      BANK_GATEWAY_URL: bankUrl,
      FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
      FANZHA_LOG_LEVEL: 'warn',
      // Archive every few seconds, so the archive grows before the backup and after the restore.
      FANZHA_ARCHIVE_EVERY: '3s',
      FANZHA_BACKUP_KEY: BACKUP_KEY,
    };
    const base = `http://127.0.0.1:${env.PORT}`;
    let system = await startSystemProcess(env);
    const actors = await createActorsThroughApi(base, ADMIN_TOKEN, 4);
    const auditor = (await userThroughApi(base, ADMIN_TOKEN, ['auditor'])).token;
    const plan = buildPlan(1903, 'rs', { alerts: 36, cases: 8, operators: actors.operators.length });
    await seedBank(plan, { bankUrl });

    // The load runs; half-way through, the backup is taken while decisions keep coming.
    const first = newRunState(plan);
    // Releases wait for the backup to end: bank instructions sent after it, which the restore must list, are sure.
    let letRelease!: () => void;
    first.beforeRelease = new Promise<void>((resolve) => (letRelease = resolve));
    const load = runPlan(
      fetchSender(() => base),
      actors,
      plan,
      first,
      16,
    );
    // Taken once the first case is approved: cases and alerts are then mid-way, bank instructions still to come.
    await waitFor(
      'a case to be approved',
      async () => [...first.answered].some((key) => key.endsWith(':approve')),
      150_000,
    );
    const answeredBefore = new Set(first.answered);
    const file = path.join(work, 'under-load.backup');
    const backup = await run('backup', 'scripts/backup.ts', env, ['--to', file]);
    letRelease();
    expect(backup.code, backup.output).toBe(0);
    const takenAt = /taken at (\S+)\)/.exec(backup.output)![1]!;
    await awaitLoad(load, first);
    expect(first.failures).toEqual([]);
    // Decisions were taken after the backup: they are what the restore loses.
    expect(answeredBefore.size).toBeLessThan(first.answered.size);

    // The machine dies: everything stops and the data folder is gone. The operator kept the archive's key.
    const auditKey = path.join(work, 'audit.key.copy');
    copyFileSync(path.join(dataDir, 'audit.key'), auditKey);
    await stopSystemProcess(system);
    rmSync(dataDir, { recursive: true, force: true });

    const restore = await run(
      'restore',
      'scripts/restore.ts',
      { FANZHA_DATA_DIR: dataDir, FANZHA_BACKUP_KEY: BACKUP_KEY, BANK_GATEWAY_URL: bankUrl },
      [file, '--audit-key', auditKey],
    );
    expect(restore.code, restore.output).toBe(0);
    expect(restore.output).toContain(`decisions after ${takenAt} are lost`);
    expect(restore.output).toContain(`re-push alerts from ${takenAt}`);
    // What the banks applied after the backup, each instruction named, from the gateway's ledger.
    const appliedAfter = (await ledger()).filter((e) => e.outcome === 'applied' && e.at >= takenAt);
    expect(appliedAfter.length).toBeGreaterThan(0);
    expect(restore.output).toContain(`the banks applied ${appliedAfter.length} instruction(s) after ${takenAt}`);
    for (const entry of appliedAfter) expect(restore.output).toContain(`${entry.action} ${entry.instructionId}`);
    expect(restore.output).not.toContain(appliedAfter[0]!.account); // shown by its last digits only

    system = await startSystemProcess(env);
    await waitFor(
      'the read model reconciled after the restore',
      async () => /read model reconciled after the restore/.test(system.output()),
      120_000,
    );

    // Everything answered before the backup began is there.
    const send = fetchSender(() => base);
    const look = typedClient(send, newRunState(plan).traffic, actors.supervisor);
    for (const a of plan.alerts)
      if (answeredBefore.has(`${a.alertId}:ingest`)) {
        const seen = await look.GET('/v1/alerts/{alertId}', { params: { path: { alertId: a.alertId } } });
        expect(seen.response.status, `alert ${a.alertId}, filed before the backup`).toBe(200);
      }
    const casesBefore = plan.cases.filter((c) => answeredBefore.has(`${plan.prefix}-${plan.seed}-case-${c.n}:file`));
    expect(casesBefore.length).toBeGreaterThan(0);
    expect(plan.alerts.filter((a) => answeredBefore.has(`${a.alertId}:ingest`)).length).toBeGreaterThan(0);

    // The platform re-pushes, the officers redo what was lost: the same plan, the same keys.
    const second = newRunState(plan);
    await awaitLoad(runPlan(send, actors, plan, second, 16), second);
    expect(second.failures).toEqual([]);
    for (const c of casesBefore) expect(second.caseIds.get(c.n)).toBe(first.caseIds.get(c.n));

    const config = loadConfig(env);
    const taskQueue = config.temporal.taskQueue;
    const running = createTemporalClient(config);
    try {
      await waitAllClosed(running, taskQueue);
    } finally {
      await running.connection.close();
    }
    // The archive, sealed before the backup and after the restore, verifies as one chain.
    await waitFor('the archiver to archive the finished runs', async () => {
      const verdict = await fetch(`${base}/v1/audit/archive/verify`, {
        headers: { authorization: `Bearer ${auditor}` },
      });
      const body = (await verdict.json()) as { ok: boolean; records: number };
      expect(body.ok, JSON.stringify(body)).toBe(true);
      return body.records >= plan.alerts.length;
    });
    await stopSystemProcess(system);
    console.log(
      `restore: ${answeredBefore.size}/${first.totalSteps} steps answered before the backup, ${first.answered.size - answeredBefore.size} after it (lost, redone); ${appliedAfter.length} bank instruction(s) applied after it; ${/read model reconciled after the restore: [^\n]*/.exec(system.output())?.[0] ?? ''}`,
    );

    // Checked as an auditor would, on the restored folder itself: its Temporal store and its database.
    const devServer = await startDevServerOnFreePort({
      cliPath: await findOrBuildTemporalCli(() => {}),
      dbFile: temporalDatabaseFile(dataDir),
      headless: true,
    });
    const database = await openDatabase({ url: null, dataDir });
    const client = createTemporalClient(
      loadConfig({ ...env, FANZHA_TEMPORAL_PORT: devServer.address.split(':').at(-1)! }),
    );
    try {
      expect(existsSync(path.join(dataDir, 'restored-from-backup.json'))).toBe(false);
      expect((await client.workflow.getHandle(alertWorkflowId(plan.alerts[0]!.alertId)).describe()).status.name).toBe(
        'COMPLETED',
      );
      await expectPlanFinishedOn(
        { client, db: database.db, taskQueue, ledger: () => ledger() },
        plan,
        second,
        onlyEventTimes,
      );
    } finally {
      await client.connection.close();
      await database.close();
      await devServer.stop();
    }
  }, 600_000);
});
