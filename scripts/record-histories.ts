/**
 * `npm run histories:record`: runs every meaningful path of the three workflows for real — a Temporal
 * dev server, an embedded database, the worker and the API (decisions go through the HTTP API, with
 * real users, so the actor is inside every Update) — and writes each closed history to
 * tests/histories/<type>-<path>.json in the `temporal workflow show --output json` form.
 * tests/audit/golden-replay.test.ts replays them all against the current workflow code, so a change
 * that would break running workflows fails in CI. Re-record only when a change is meant to be
 * incompatible (and then use `patched()` so running workflows keep working).
 *
 * Options: --only <substring> records only the paths whose file name contains it; --out <dir>.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { buildApp } from '#api/app.js';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import { loadConfig } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { createUserStore } from '#db/users.js';
import type { AlertInput } from '#domain/alert.js';
import type { Role } from '#domain/roles.js';
import type { StopPaymentInput, StopPaymentView } from '#domain/stop-payment.js';
import { latestWorkflowView } from '#read-model/workflow-view.js';
import { resolvePolicy } from '#domain/policy.js';
import { createFanzhaWorker, WORKFLOWS_PATH } from '#worker/worker.js';
import { findOrBuildTemporalCli } from './temporal-cli.js';
import { startDevServerOnFreePort } from './temporal-dev-server.js';

const { values: args } = parseArgs({
  options: { only: { type: 'string' }, out: { type: 'string' } },
});
const OUT = path.resolve(args.out ?? fileURLToPath(new URL('../tests/histories', import.meta.url)));
const say = (line: string) => console.error(`[record] ${line}`);

/** Short durations: every path ends in seconds. High-risk alerts escalate fast; the others never do. */
const POLICY = {
  alert: {
    claimSla: { high: '1500ms', medium: '1h', low: '1h' },
    callTimeout: '1h',
    maxCallAttempts: 2,
    retryDelay: { high: '300ms', medium: '300ms', low: '300ms' },
    visitSla: { high: '1h', medium: '1h', low: '1h' },
  },
  stopPayment: {
    approvalSla: '2s',
    stopValidity: '4s',
    freezeReminderBefore: '1500ms',
    freezeValidity: '4s',
    renewalReminderBefore: '1500ms',
  },
};

Runtime.install({ logger: new DefaultLogger('WARN') });
const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-record-'));
const cliPath = await findOrBuildTemporalCli(say);
const devServer = await startDevServerOnFreePort({
  cliPath,
  dbFile: path.join(dir, 'temporal.sqlite'),
  headless: true,
  logFile: path.join(dir, 'temporal.log'),
  log: say,
  // Above every other path's length (at most ~110 events), below stop-payment-continued's: only that case continues as new.
  dynamicConfig: ['limit.historyCount.suggestContinueAsNew=150'],
});
const config = loadConfig({
  FANZHA_DATA_DIR: dir,
  TEMPORAL_ADDRESS: devServer.address,
  TEMPORAL_NAMESPACE: 'default',
  FANZHA_TASK_QUEUE: 'fanzha-record',
  FANZHA_LOG_LEVEL: 'silent',
  FANZHA_BANK_SIMULATOR: '1',
});
config.policy = resolvePolicy(POLICY);
// The scheduled backup, on the dev server's SQLite and the PGlite in `dir` (what `npm start` has there).
const backupDir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-record-backups-'));
config.backupKey = randomBytes(32);
config.backup = { everyMs: 3_600_000, dir: backupDir, keep: 1 };
const database = await openDatabase({ url: null, dataDir: dir });
await database.migrate();
const connection = await Connection.connect({ address: devServer.address });
const client = new Client({ connection, namespace: 'default' });
const app = await buildApp({ config, database, temporal: client, logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
config.port = (app.server.address() as { port: number }).port;
const workerConnection = await NativeConnection.connect({ address: devServer.address });
const scheduledBackup = { database, log: say };
let worker = await createFanzhaWorker({
  config,
  connection: workerConnection,
  deps: { db: database.db },
  scheduledBackup,
});
let running = worker.run();

/** A worker outage, for the paths that need one. */
async function stopWorker() {
  worker.shutdown();
  await running;
}
async function startWorker() {
  worker = await createFanzhaWorker({
    config,
    connection: workerConnection,
    deps: { db: database.db },
    scheduledBackup,
  });
  running = worker.run();
}

async function shutdown() {
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await running.catch(() => {});
  await workerConnection.close();
  await app.close();
  await connection.close();
  await database.close();
  await devServer.stop();
  rmSync(dir, { recursive: true, force: true });
  rmSync(backupDir, { recursive: true, force: true });
}

// --- people and calls ------------------------------------------------------------------------
const users = createUserStore(database.db);
async function person(name: string, roles: Role[], stationId?: string) {
  const user = await users.create({ name, roles, stationId: stationId ?? null });
  const { token } = await users.issueToken(user.userId, 'record');
  return { user, token };
}
type Person = Awaited<ReturnType<typeof person>>;
const platform = await person('国家反诈平台', ['platform']);
const operator = await person('王接线员', ['operator']);
const officer = await person('李民警', ['station'], 'haibowan-01');
const otherOfficer = await person('赵民警', ['station'], 'wuda-02');
const supervisor = await person('陈值班长', ['supervisor']);
const calltaker = await person('刘接警员', ['calltaker']);
const approver = await person('周审批员', ['approver']);
const senior = await person('吴科长', ['senior_approver']);

async function call(who: Person | null, method: 'GET' | 'POST', url: string, payload?: unknown): Promise<any> {
  const response = await app.inject({
    method,
    url,
    headers: who ? { authorization: `Bearer ${who.token}` } : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
  if (response.statusCode >= 300) throw new Error(`${method} ${url} answered ${response.statusCode}: ${response.body}`);
  return response.json();
}
const post = (who: Person | null, url: string, payload: unknown = {}) => call(who, 'POST', url, payload);

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let serial = 0;
const alertInput = (riskLevel: AlertInput['riskLevel']): AlertInput => ({
  alertId: `REC-A${String(++serial).padStart(3, '0')}-${Date.now().toString(36)}`,
  source: 'ministry',
  issuedAt: '2026-11-28T09:12:00+08:00',
  riskLevel,
  fraudType: 'investment',
  victim: { phone: '13812345678', name: '张三' },
  stationId: 'haibowan-01',
});
let accountSerial = 0;
const account = () =>
  `62220000${String(Date.now() % 1_000_000).padStart(6, '0')}${String(++accountSerial).padStart(4, '0')}`;
const filing = (accounts: { bank: string; account: string; amountFen: number }[]): StopPaymentInput => ({
  reportedAt: '2026-11-28T10:02:00+08:00',
  victim: { name: '张三', phone: '13812345678' },
  caseRef: 'WH-2026-1128-0042',
  transfers: accounts.map((a) => ({ ...a, transferredAt: '2026-11-28T09:40:00+08:00' })),
});

const alertBase = (id: string) => `/v1/alerts/${id}`;
/** The case as its workflow last told it, read from its history: nothing queries a running workflow. */
const caseOf = async (id: string) => (await latestWorkflowView<StopPaymentView>(client, `stoppay-${id}`))?.view ?? null;
const caseWhen = (id: string, until: (v: StopPaymentView) => boolean, what: string, timeoutMs?: number) =>
  waitFor(
    what,
    async () => {
      const view = await caseOf(id);
      return view && until(view) ? view : undefined;
    },
    timeoutMs,
  );

// --- the paths -------------------------------------------------------------------------------
interface Recorded {
  file: string;
  workflowId: string;
  runId?: string;
}
type Path = { name: string; run: () => Promise<Recorded[]> };

async function closed(handle: WorkflowHandle) {
  await handle.result();
}

const paths: Path[] = [
  {
    name: 'alert-dissuaded',
    async run() {
      const alert = alertInput('medium');
      await post(platform, '/v1/alerts', alert);
      await post(operator, `${alertBase(alert.alertId)}/claim`);
      await post(operator, `${alertBase(alert.alertId)}/call-result`, {
        result: 'contacted',
        outcome: 'dissuaded',
        amountAtRiskFen: 5_000_000,
        note: '已劝阻，未转账',
      });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-dissuaded', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-retries-visit',
    async run() {
      const alert = alertInput('medium');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      // The platform pushes the same alert again (a signal into the running workflow).
      await post(platform, '/v1/alerts', { ...alert, note: '再次推送' });
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'not_reached', reason: 'no_answer' });
      await waitFor('the retry', async () => (await call(supervisor, 'GET', base)).state === 'queued');
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'not_reached', reason: 'powered_off' });
      await post(officer, `${base}/visit-result`, { outcome: 'dissuaded', note: '上门劝阻成功' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-retries-visit', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-escalations',
    async run() {
      const alert = alertInput('high');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      await waitFor('two escalations', async () => (await call(supervisor, 'GET', base)).escalationLevel === 2, 20_000);
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'contacted', outcome: 'false_positive' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-escalations', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-late-claim',
    async run() {
      // A worker outage: the claim deadline passes while no worker runs and the claim waits for one, so
      // the worker that comes back gets both in one workflow task (patch late-decision-escalates).
      const alert = alertInput('high');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      await waitFor('the alert queued', async () => (await call(supervisor, 'GET', base)).state === 'queued');
      await stopWorker();
      await new Promise((r) => setTimeout(r, 2_000));
      const claiming = post(operator, `${base}/claim`);
      await new Promise((r) => setTimeout(r, 300));
      await startWorker();
      const claimed = await claiming;
      if (!claimed.timeline.some((e: { kind: string }) => e.kind === 'deadline_missed'))
        throw new Error('the late claim did not count the missed deadline');
      await post(operator, `${base}/call-result`, { result: 'contacted', outcome: 'dissuaded' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-late-claim', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-cancel',
    async run() {
      const alert = alertInput('medium');
      await post(platform, '/v1/alerts', alert);
      await post(supervisor, `${alertBase(alert.alertId)}/cancel`, { reason: '平台撤回预警' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-cancel', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-force-release',
    async run() {
      // Recorded after patch supervisor-release: a supervisor takes a held alert back to the queue.
      const alert = alertInput('medium');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      await post(operator, `${base}/claim`);
      await post(supervisor, `${base}/force-release`, { reason: '劝阻员已下班' });
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'contacted', outcome: 'dissuaded' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-force-release', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'alert-transfer',
    async run() {
      const alert = alertInput('medium');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/release`, { note: '线路故障' });
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'contacted', outcome: 'refused', note: '不听劝' });
      await post(officer, `${base}/transfer`, { stationId: 'wuda-02', reason: '当事人在武大附近' });
      await post(otherOfficer, `${base}/visit-result`, { outcome: 'not_found' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-transfer', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'stop-payment-approve-onward-release',
    async run() {
      const first = { bank: 'ICBC', account: account(), amountFen: 3_000_000 };
      const onward = { bank: 'CCB', account: account(), amountFen: 1_200_000 };
      await post(null, '/sim/bank/accounts', {
        bank: first.bank,
        account: first.account,
        balanceFen: 1_800_000,
        onward: [onward],
      });
      const { stopPaymentId: id } = await post(calltaker, '/v1/stop-payments', filing([first]));
      await post(approver, `/v1/stop-payments/${id}/approve`, { note: '情况紧急，立即止付' });
      const view = await caseWhen(
        id,
        (v) => v.holds.length === 2 && v.holds.every((h) => h.state === 'stopped'),
        'both holds stopped',
      );
      await post(senior, `/v1/stop-payments/${id}/release`, { reason: '资金已追回，解除止付' });
      await closed(client.workflow.getHandle(`stoppay-${id}`));
      return [
        { file: 'stop-payment-approve-onward-release', workflowId: `stoppay-${id}` },
        { file: 'hold-onward-released', workflowId: view.holds[0]!.workflowId },
        { file: 'hold-onward-level2-released', workflowId: view.holds[1]!.workflowId },
      ];
    },
  },
  {
    name: 'alert-repeated-pushes',
    async run() {
      // Repeats that raise nothing are counted (patch coalesce-platform-pushes); a raise is a step.
      const alert = alertInput('low');
      const base = alertBase(alert.alertId);
      await post(platform, '/v1/alerts', alert);
      for (const note of ['再次推送', '第三次推送']) await post(platform, '/v1/alerts', { ...alert, note });
      await post(platform, '/v1/alerts', { ...alert, riskLevel: 'high', note: '风险升级' });
      await waitFor('the pushes taken', async () => (await call(supervisor, 'GET', base)).riskLevel === 'high');
      await post(operator, `${base}/claim`);
      await post(operator, `${base}/call-result`, { result: 'contacted', outcome: 'dissuaded' });
      await closed(client.workflow.getHandle(`alert-${alert.alertId}`));
      return [{ file: 'alert-repeated-pushes', workflowId: `alert-${alert.alertId}` }];
    },
  },
  {
    name: 'stop-payment-continued',
    async run() {
      // Ten holds make a history past the server's suggestion: the case continues as new (patch
      // case-continues-as-new) and its second run releases the holds the first one started.
      const accounts = Array.from({ length: 10 }, (_, i) => ({
        bank: 'ICBC',
        account: account(),
        amountFen: 100_000 + i,
      }));
      for (const { bank, account, amountFen } of accounts)
        await post(null, '/sim/bank/accounts', { bank, account, balanceFen: amountFen });
      const { stopPaymentId: id } = await post(calltaker, '/v1/stop-payments', filing(accounts));
      await post(approver, `/v1/stop-payments/${id}/approve`, {});
      await caseWhen(id, (v) => v.holds.every((h) => h.state === 'stopped'), 'ten holds stopped');
      const runs = async () => {
        const found: { runId: string; startTime: Date }[] = [];
        for await (const run of client.workflow.list({ query: `WorkflowId = 'stoppay-${id}'` })) found.push(run);
        return found.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
      };
      await waitFor('the case continued as new', async () => (await runs()).length === 2, 20_000);
      await post(senior, `/v1/stop-payments/${id}/release`, { reason: '资金已追回，解除止付' });
      await closed(client.workflow.getHandle(`stoppay-${id}`));
      const [first, second] = await runs();
      return [
        { file: 'stop-payment-continued-run1', workflowId: `stoppay-${id}`, runId: first!.runId },
        { file: 'stop-payment-continued-run2', workflowId: `stoppay-${id}`, runId: second!.runId },
      ];
    },
  },
  {
    name: 'stop-payment-escalated-reject',
    async run() {
      const { stopPaymentId: id } = await post(
        calltaker,
        '/v1/stop-payments',
        filing([{ bank: 'ABC', account: account(), amountFen: 60_000_000 }]),
      );
      await caseWhen(id, (v) => v.escalationLevel >= 1, 'the approval deadline to be missed', 20_000);
      await post(approver, `/v1/stop-payments/${id}/reject`, { reason: '报案信息不实' });
      await closed(client.workflow.getHandle(`stoppay-${id}`));
      return [{ file: 'stop-payment-escalated-reject', workflowId: `stoppay-${id}` }];
    },
  },
  {
    name: 'stop-payment-lapse',
    async run() {
      const { stopPaymentId: id } = await post(
        calltaker,
        '/v1/stop-payments',
        filing([{ bank: 'BOC', account: account(), amountFen: 500_000 }]),
      );
      await post(approver, `/v1/stop-payments/${id}/approve`);
      const view = await caseWhen(id, (v) => v.holds[0]?.state === 'stopped', 'the hold stopped');
      await post(approver, `/v1/stop-payments/${id}/holds/${view.holds[0]!.holdId}/restop`, { note: '续止付' });
      await closed(client.workflow.getHandle(`stoppay-${id}`));
      return [
        { file: 'stop-payment-lapse', workflowId: `stoppay-${id}` },
        { file: 'hold-restop-lapsed', workflowId: view.holds[0]!.workflowId },
      ];
    },
  },
  {
    name: 'stop-payment-freeze-renew-expire',
    async run() {
      const { stopPaymentId: id } = await post(
        calltaker,
        '/v1/stop-payments',
        filing([{ bank: 'CMB', account: account(), amountFen: 800_000 }]),
      );
      await post(approver, `/v1/stop-payments/${id}/approve`);
      const view = await caseWhen(id, (v) => v.holds[0]?.state === 'stopped', 'the hold stopped');
      const hold = view.holds[0]!;
      await post(senior, `/v1/stop-payments/${id}/holds/${hold.holdId}/freeze`, {
        legalDocRef: '武公（反诈）冻字〔2026〕118号',
      });
      await post(senior, `/v1/stop-payments/${id}/holds/${hold.holdId}/renew`, {
        legalDocRef: '武公（反诈）续冻字〔2026〕7号',
      });
      await closed(client.workflow.getHandle(`stoppay-${id}`));
      const runs: { runId: string; status: string; startTime: Date }[] = [];
      for await (const run of client.workflow.list({ query: `WorkflowId = '${hold.workflowId}'` }))
        runs.push({ runId: run.runId, status: run.status.name, startTime: run.startTime });
      runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
      if (runs.length !== 2 || runs[0]!.status !== 'CONTINUED_AS_NEW')
        throw new Error(`expected a continued-as-new hold, got ${JSON.stringify(runs)}`);
      return [
        { file: 'stop-payment-freeze-renew-expire', workflowId: `stoppay-${id}` },
        { file: 'hold-freeze-renew-run1', workflowId: hold.workflowId, runId: runs[0]!.runId },
        { file: 'hold-freeze-renew-expired-run2', workflowId: hold.workflowId, runId: runs[1]!.runId },
      ];
    },
  },
];

// --- record, check, write --------------------------------------------------------------------
let failed = false;
try {
  const chosen = paths.filter((p) => !args.only || p.name.includes(args.only));
  say(`recording ${chosen.length} paths into ${OUT}`);
  const recorded = (
    await Promise.all(
      chosen.map(async (p) => {
        const started = Date.now();
        const files = await p.run();
        say(`${p.name}: done in ${((Date.now() - started) / 1000).toFixed(1)}s`);
        return files;
      }),
    )
  ).flat();

  if (!args.only || 'archiver'.includes(args.only)) {
    // The archiver over everything just recorded, a few runs per listing so that it loops.
    const archiverId = `record-archiver-${Date.now().toString(36)}`;
    const outcome = await client.workflow.execute('ArchiverWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: archiverId,
      args: [{ taskQueue: config.temporal.taskQueue, batchSize: 5 }],
    });
    say(`archiver: ${JSON.stringify(outcome)}`);
    recorded.push({ file: 'archiver-batches', workflowId: archiverId });
  }

  if (!args.only || 'backup'.includes(args.only)) {
    // One scheduled backup as its schedule starts it: no input, one activity.
    const backupId = `record-backup-${Date.now().toString(36)}`;
    const outcome = await client.workflow.execute('BackupWorkflow', {
      taskQueue: config.temporal.taskQueue,
      workflowId: backupId,
    });
    say(`backup: ${JSON.stringify(outcome)}`);
    recorded.push({ file: 'backup-scheduled', workflowId: backupId });
  }

  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
  mkdirSync(OUT, { recursive: true });
  for (const { file, workflowId, runId } of recorded) {
    const handle = client.workflow.getHandle(workflowId, runId);
    const history = await handle.fetchHistory();
    // The recording must itself replay, or it is no golden history.
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId);
    writeFileSync(path.join(OUT, `${file}.json`), `${historyToJSON(history)}\n`);
    say(`wrote ${file}.json (${history.events?.length ?? 0} events)`);
  }
} catch (error) {
  failed = true;
  console.error(error);
} finally {
  await shutdown();
}
process.exit(failed ? 1 : 0);
