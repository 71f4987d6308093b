/**
 * The archive: closed histories copied into PostgreSQL by the ArchiverWorkflow (on a Temporal
 * Schedule), once each even when archivers race, hash-chained and sealed with FANZHA_AUDIT_KEY so that
 * verification finds an altered byte, a deleted record, two records swapped, a chain recomputed
 * without the key, and — against the head each archiver run anchors in Temporal — the newest records
 * deleted; and read from there once Temporal has deleted a run.
 */
import { createHash, randomBytes } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureArchiverSchedule } from '#audit/archiver-schedule.js';
import { appendToArchive } from '#audit/chain.js';
import { archiveKey } from '#config/index.js';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { auditArchive } from '#db/schema.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import type { ArchiverResult } from '#workflows/archiver.js';
import { auditApi, auditStackOptions, ok, runArchiver, runAuditCli, type TimelineEvent } from './helpers.js';

let stack: Stack;
let alerts: ReturnType<typeof alertApi>;
let audit: ReturnType<typeof auditApi>;
let platform: Caller, operator: Caller, supervisor: Caller, auditor: Caller;

beforeAll(async () => {
  stack = await startStack(auditStackOptions());
  alerts = alertApi(stack);
  audit = auditApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator'], { name: '王接线员' });
  supervisor = await stack.user(['supervisor'], { name: '陈值班长' });
  auditor = await stack.user(['auditor']);
});
afterAll(async () => {
  await stack?.close();
});

/** An alert the supervisor cancelled: a closed workflow in a second. */
async function cancelledAlert(): Promise<string> {
  const alert = newAlert();
  await alerts.ingest(platform, alert);
  expect((await alerts.cancel(supervisor, alert.alertId, { reason: '平台撤回' })).statusCode).toBe(200);
  await stack.client.workflow.getHandle(`alert-${alert.alertId}`).result();
  return `alert-${alert.alertId}`;
}

/** Closed runs on the stack's task queue, as Temporal's visibility lists them (waiting until it lists `atLeast`). */
async function closedRuns(atLeast: number): Promise<string[]> {
  const query = `TaskQueue = '${stack.config.temporal.taskQueue}' AND ExecutionStatus != 'Running' AND WorkflowType != 'ArchiverWorkflow'`;
  return waitFor(`${atLeast} closed runs in visibility`, async () => {
    const runs: string[] = [];
    for await (const run of stack.client.workflow.list({ query })) runs.push(`${run.workflowId}/${run.runId}`);
    return runs.length >= atLeast ? runs.sort() : undefined;
  });
}

const archivedRows = () => stack.database.db.select().from(auditArchive).orderBy(asc(auditArchive.id));
type Verdict = { ok: boolean; records: number; brokenAt?: string; reason?: string; anchoredAt?: string | null };
const verify = async () => ok<Verdict>(await audit.verify(auditor));
/**
 * Runs one archiver and waits until Temporal's visibility lists it completed: verification reads the
 * anchor from there, a moment after the run closes.
 */
async function archiver(options: { batchSize?: number } = {}): Promise<ArchiverResult> {
  const taskQueue = stack.config.temporal.taskQueue;
  const workflowId = `archiver-test-${randomBytes(4).toString('hex')}`;
  const result: ArchiverResult = await stack.client.workflow.execute('ArchiverWorkflow', {
    taskQueue,
    workflowId,
    args: [{ taskQueue, ...options }],
  });
  await waitFor(`${workflowId} listed as completed`, async () => {
    for await (const _ of stack.client.workflow.list({
      query: `WorkflowId = '${workflowId}' AND ExecutionStatus = 'Completed'`,
    }))
      return true;
    return false;
  });
  return result;
}
/** `npm run audit -- verify` against this stack's database and Temporal, with the stack's key unless told. */
const cliVerify = (env: Record<string, string> = {}) =>
  runAuditCli(['verify'], {
    DATABASE_URL: stack.databaseUrl,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    FANZHA_TASK_QUEUE: stack.config.temporal.taskQueue,
    FANZHA_AUDIT_KEY: stack.config.audit.key!,
    ...env,
  });

describe('archiving', () => {
  it('archives each closed run exactly once, also with two archivers racing, and leaves running ones alone', async () => {
    const closed = await Promise.all([1, 2, 3, 4, 5].map(() => cancelledAlert()));
    const running = newAlert();
    await alerts.ingest(platform, running);
    const expected = await closedRuns(5);
    expect(expected).toHaveLength(5);

    const [first, second] = await Promise.all([archiver({ batchSize: 2 }), archiver({ batchSize: 2 })]);
    expect(first.archived + second.archived).toBe(5);
    const rows = await archivedRows();
    expect(rows.map((r) => `${r.workflowId}/${r.runId}`).sort()).toEqual(expected);
    expect(rows.map((r) => r.workflowId).sort()).toEqual(closed.sort());
    expect(rows.some((r) => r.workflowId === `alert-${running.alertId}`)).toBe(false);
    expect(rows.every((r) => r.workflowType === 'AlertWorkflow' && r.status === 'COMPLETED')).toBe(true);
    // A chain: each record names the hash of the one before it.
    expect(rows.map((r) => r.prevSha256)).toEqual([null, ...rows.slice(0, -1).map((r) => r.sha256)]);
    expect(await verify()).toMatchObject({ ok: true, records: 5 });

    // Nothing left to do; and the running alert is archived once it closes.
    expect(await archiver()).toMatchObject({ archived: 0 });
    await alerts.cancel(supervisor, running.alertId, { reason: '重复预警' });
    await stack.client.workflow.getHandle(`alert-${running.alertId}`).result();
    await closedRuns(6);
    expect(await archiver()).toMatchObject({ archived: 1 });
    expect(await verify()).toMatchObject({ ok: true, records: 6 });
  });

  it('appends one record per run however many writers race for it, keeping the chain whole', async () => {
    const before = (await archivedRows()).length;
    const history = JSON.stringify({ events: [] });
    const record = {
      workflowId: `race-${randomBytes(3).toString('hex')}`,
      runId: 'r1',
      workflowType: 'Test',
      status: 'COMPLETED',
      closedAt: new Date(),
      history,
    };
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        appendToArchive(stack.database.db, archiveKey(stack.config), i % 2 ? record : { ...record, runId: 'r2' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(2);
    expect(new Set(results.map((r) => r.id)).size).toBe(2);
    expect((await archivedRows()).length).toBe(before + 2);
    expect(await verify()).toMatchObject({ ok: true, records: before + 2 });
  });

  it('runs on a Temporal Schedule, created idempotently, that archives what closes', async () => {
    const taskQueue = stack.config.temporal.taskQueue;
    const scheduleId = `test-archiver-${randomBytes(4).toString('hex')}`;
    // worker/main.ts creates it through the worker's NativeConnection, start-all through the API's client.
    const native = await NativeConnection.connect({ address: inject('temporalAddress') });
    try {
      expect(
        await ensureArchiverSchedule(new Client({ connection: native, namespace: 'default' }), {
          taskQueue,
          everyMs: 1_000,
          scheduleId,
        }),
      ).toBe('created');
      expect(await ensureArchiverSchedule(stack.client, { taskQueue, everyMs: 1_000, scheduleId })).toBe('unchanged');
      expect(await ensureArchiverSchedule(stack.client, { taskQueue, everyMs: 2_000, scheduleId })).toBe('updated');
      expect((await stack.client.schedule.getHandle(scheduleId).describe()).spec.intervals).toEqual([
        expect.objectContaining({ every: 2_000 }),
      ]);
      await ensureArchiverSchedule(stack.client, { taskQueue, everyMs: 1_000, scheduleId });
      const workflowId = await cancelledAlert();
      const row = await waitFor(
        'the scheduled archiver to archive the alert',
        async () =>
          (await stack.database.db.select().from(auditArchive).where(eq(auditArchive.workflowId, workflowId)))[0],
        30_000,
      );
      expect(row.status).toBe('COMPLETED');
      expect((await stack.client.schedule.getHandle(scheduleId).describe()).info.recentActions.length).toBeGreaterThan(
        0,
      );
    } finally {
      await stack.client.schedule.getHandle(scheduleId).delete();
      await native.close();
    }
    expect((await verify()).ok).toBe(true);
  });

  it('lists archived runs page by page, newest archived first, by type or workflow', async () => {
    const all = await archivedRows();
    const seen: { id: string; workflowId: string; sha256: string; closedAt: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: typeof seen; nextCursor: string | null } = ok(
        await audit.archive(auditor, `?limit=2${cursor ? `&cursor=${cursor}` : ''}`),
      );
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen.map((r) => r.id)).toEqual(all.map((r) => String(r.id)).reverse());
    expect(seen[0]).toMatchObject({ sha256: all.at(-1)!.sha256, closedAt: all.at(-1)!.closedAt.toISOString() });
    const alertsOnly = ok<{ items: { workflowType: string }[] }>(
      await audit.archive(auditor, '?workflowType=AlertWorkflow&limit=200'),
    ).items;
    expect(alertsOnly.length).toBe(all.filter((r) => r.workflowType === 'AlertWorkflow').length);
    const one = ok<{ items: { workflowId: string }[] }>(
      await audit.archive(auditor, `?workflowId=${all[0]!.workflowId}`),
    ).items;
    expect(one.map((r) => r.workflowId)).toEqual([all[0]!.workflowId]);
  });
});

describe('verifying the hash chain', () => {
  it('finds an altered byte, a deleted record and two swapped records, each at the first broken record', async () => {
    const rows = await archivedRows();
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const [, second, third] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const db = stack.database.db;
    const total = rows.length;

    // One byte of one history.
    const at = second.history.indexOf('"eventType"');
    const altered = `${second.history.slice(0, at + 1)}E${second.history.slice(at + 2)}`;
    expect(altered.length).toBe(second.history.length);
    await db.update(auditArchive).set({ history: altered }).where(eq(auditArchive.id, second.id));
    expect(await verify()).toMatchObject({ ok: false, records: total, brokenAt: String(second.id) });
    const cli = await cliVerify();
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: false, records: total, brokenAt: String(second.id) });
    await db.update(auditArchive).set({ history: second.history }).where(eq(auditArchive.id, second.id));
    expect(await verify()).toMatchObject({ ok: true, records: total });

    // A record deleted: the one after it no longer links up.
    await db.delete(auditArchive).where(eq(auditArchive.id, second.id));
    expect(await verify()).toMatchObject({ ok: false, records: total - 1, brokenAt: String(third.id) });
    await db.insert(auditArchive).values(second);
    expect(await verify()).toMatchObject({ ok: true, records: total });

    // Two records swapped: everything but the id exchanged.
    const contents = ({ id: _id, ...rest }: typeof second) => rest;
    await db.transaction(async (tx) => {
      await tx
        .update(auditArchive)
        .set({ workflowId: sql`'swapping'`, runId: sql`'swapping'` })
        .where(eq(auditArchive.id, third.id));
      await tx.update(auditArchive).set(contents(third)).where(eq(auditArchive.id, second.id));
      await tx.update(auditArchive).set(contents(second)).where(eq(auditArchive.id, third.id));
    });
    expect(await verify()).toMatchObject({ ok: false, records: total, brokenAt: String(second.id) });
    await db.transaction(async (tx) => {
      await tx
        .update(auditArchive)
        .set({ workflowId: sql`'swapping'`, runId: sql`'swapping'` })
        .where(eq(auditArchive.id, third.id));
      await tx.update(auditArchive).set(contents(second)).where(eq(auditArchive.id, second.id));
      await tx.update(auditArchive).set(contents(third)).where(eq(auditArchive.id, third.id));
    });
    expect(await verify()).toMatchObject({ ok: true, records: total });
    const fine = await cliVerify();
    expect(fine.code, fine.stderr).toBe(0);
    expect(JSON.parse(fine.stdout)).toMatchObject({ ok: true, records: total });
  });
});

type Row = typeof auditArchive.$inferSelect;

/**
 * The chain recomputed the way anyone can who reads audit/chain.ts but has not the key — SHA-256 only,
 * each record with the version its hash was made with — after `edit`; `unsealed` passes every record
 * off as v1 (no MAC).
 */
function recomputeWithoutKey(rows: Row[], edit: (row: Row) => Row, options: { unsealed?: boolean } = {}) {
  const sha = (row: Row, v: number, prevSha256: string | null) =>
    createHash('sha256')
      .update(
        JSON.stringify({
          v,
          workflowId: row.workflowId,
          runId: row.runId,
          workflowType: row.workflowType,
          status: row.status,
          closedAt: row.closedAt.toISOString(),
          prevSha256,
        }),
      )
      .update('\n')
      .update(row.history)
      .digest('hex');
  let prev = rows[0]!.prevSha256;
  return rows.map((row) => {
    const v = options.unsealed ? 1 : [1, 2].find((n) => sha(row, n, row.prevSha256) === row.sha256)!;
    const sha256 = sha(edit(row), v, prev);
    const next = { ...edit(row), prevSha256: prev, sha256, ...(options.unsealed ? { mac: null, macKeyId: null } : {}) };
    prev = sha256;
    return next;
  });
}

describe('the sealed chain and its anchor in Temporal', () => {
  const db = () => stack.database.db;
  const restore = async (rows: Row[]) => {
    for (const row of rows) await db().update(auditArchive).set(row).where(eq(auditArchive.id, row.id));
  };

  it('seals every record it writes, and each archiver run anchors the head it leaves in its result', async () => {
    await cancelledAlert();
    const result = await archiver();
    const rows = await archivedRows();
    const head = rows.at(-1)!;
    expect(result.head).toEqual({ id: head.id, sha256: head.sha256, mac: head.mac });
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.mac ?? '') && /^[0-9a-f]{16}$/.test(r.macKeyId ?? ''))).toBe(true);
    expect(await verify()).toEqual({ ok: true, records: rows.length, anchoredAt: String(head.id) });
    const cli = await cliVerify();
    expect(cli.code, cli.stderr).toBe(0);
    expect(JSON.parse(cli.stdout)).toEqual({ ok: true, records: rows.length, anchoredAt: String(head.id) });
  });

  it('fails when the newest record is deleted, naming the head Temporal anchored; and no archiver run anchors over it', async () => {
    await cancelledAlert();
    await archiver();
    const rows = await archivedRows();
    const newest = rows.at(-1)!;
    await db().delete(auditArchive).where(eq(auditArchive.id, newest.id));

    const verdict = await verify();
    expect(verdict).toMatchObject({ ok: false, records: rows.length - 1, brokenAt: String(newest.id) });
    expect(verdict.reason).toMatch(new RegExp(`record ${newest.id}, the head .* anchored in Temporal, is missing`));
    expect(verdict.reason).toMatch(/the newest records were deleted/);
    const cli = await cliVerify();
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout)).toMatchObject({ ok: false, brokenAt: String(newest.id) });
    expect(cli.stderr).toMatch(/the newest records were deleted/);

    // The next archiver copies the deleted run again from Temporal, but refuses to anchor a head past the loss.
    const refused = await runArchiver(stack).then(
      () => null,
      (error: Error) => error,
    );
    const messages: string[] = [];
    for (let e: unknown = refused; e instanceof Error; e = e.cause) messages.push(e.message);
    expect(messages.join(' / ')).toMatch(new RegExp(`no longer holds record ${newest.id} .*not anchoring over it`));
    expect((await verify()).brokenAt).toBe(String(newest.id));

    await db().delete(auditArchive).where(eq(auditArchive.runId, newest.runId));
    await db().insert(auditArchive).values(newest);
    expect(await verify()).toMatchObject({ ok: true, anchoredAt: String(newest.id) });
  });

  it('fails when a record is edited and the chain recomputed without the key, sealed or not', async () => {
    const rows = await archivedRows();
    const victim = rows[2]!;
    const edit = (r: Row) => (r.id === victim.id ? { ...r, status: 'TERMINATED' } : r);

    // Every hash recomputed, the seals left as they were (nobody without the key can make new ones).
    await restore(recomputeWithoutKey(rows, edit));
    const sealed = await verify();
    expect(sealed).toMatchObject({ ok: false, brokenAt: String(victim.id) });
    expect(sealed.reason).toMatch(/does not match its MAC: it was altered and the chain recomputed without the key/);

    // The same, passing the edited records off as unsealed v1 records.
    await restore(recomputeWithoutKey(rows.slice(2), edit, { unsealed: true }));
    const unsealed = await verify();
    expect(unsealed).toMatchObject({ ok: false, brokenAt: String(victim.id) });
    expect(unsealed.reason).toMatch(/has no MAC after sealed records/);

    // The whole archive as v1, no seal anywhere: the head is no longer the one Temporal anchored.
    await restore(recomputeWithoutKey(rows, edit, { unsealed: true }));
    const rewritten = await verify();
    expect(rewritten).toMatchObject({ ok: false });
    expect(rewritten.reason).toMatch(/is not the head that archiver run .* anchored in Temporal: it was rewritten/);

    await restore(rows);
    expect(await verify()).toMatchObject({ ok: true, records: rows.length });
  });

  it('says so clearly when the key is not the one the archive was sealed with, or there is none', async () => {
    const rows = await archivedRows();
    const other = await cliVerify({ FANZHA_AUDIT_KEY: 'another-key-of-at-least-32-characters!' });
    expect(other.code).toBe(1);
    expect(JSON.parse(other.stdout)).toMatchObject({ ok: false, brokenAt: String(rows[0]!.id) });
    expect(other.stderr).toMatch(
      new RegExp(
        `record ${rows[0]!.id} was sealed with another key \\(key id ${rows[0]!.macKeyId}; FANZHA_AUDIT_KEY here is key id [0-9a-f]{16}\\): this is not the archive's FANZHA_AUDIT_KEY`,
      ),
    );
    const none = await cliVerify({ FANZHA_AUDIT_KEY: '' });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/FANZHA_AUDIT_KEY is not set here: its MAC cannot be checked/);
  });
});

describe('after Temporal has deleted a workflow', () => {
  it('reads its timeline, history and replay from the archive', async () => {
    const alert = newAlert();
    await alerts.ingest(platform, alert);
    await alerts.claim(operator, alert.alertId);
    await alerts.callResult(operator, alert.alertId, {
      result: 'contacted',
      outcome: 'dissuaded',
      amountAtRiskFen: 200_000,
    });
    const workflowId = `alert-${alert.alertId}`;
    const { runId } = await stack.client.workflow.getHandle(workflowId).describe();
    await stack.client.workflow.getHandle(workflowId).result();
    const before = ok<{ runs: { source: string }[]; events: TimelineEvent[] }>(
      await audit.timeline(auditor, workflowId),
    );
    expect(before.runs[0]!.source).toBe('temporal');
    const liveHistory = (await audit.history(auditor, workflowId)).body;

    await waitFor('the run in the archive', async () => {
      await runArchiver(stack);
      return (
        (await stack.database.db.select().from(auditArchive).where(eq(auditArchive.workflowId, workflowId))).length ===
        1
      );
    });
    await stack.client.workflowService.deleteWorkflowExecution({
      namespace: 'default',
      workflowExecution: { workflowId, runId },
    });
    await waitFor(
      'Temporal to forget the workflow',
      async () => {
        try {
          await stack.client.workflow.getHandle(workflowId).describe();
          return false;
        } catch (error) {
          return (error as Error).name === 'WorkflowNotFoundError';
        }
        // The dev server deletes a closed run some 20 s after it was asked to.
      },
      90_000,
    );

    const after = ok<{ runId: string; status: string; runs: { source: string }[]; events: TimelineEvent[] }>(
      await audit.timeline(auditor, workflowId),
    );
    expect(after).toMatchObject({
      runId,
      status: 'COMPLETED',
      runs: [expect.objectContaining({ source: 'archive', status: 'COMPLETED' })],
    });
    expect(after.events).toEqual(before.events);
    expect(
      after.events.filter((e) => e.kind === 'update_accepted').map((e) => [e.detail?.update, e.actor?.name]),
    ).toEqual([
      ['claim', '王接线员'],
      ['callResult', '王接线员'],
    ]);

    const history = await audit.history(auditor, workflowId);
    expect(history.statusCode).toBe(200);
    expect(history.headers['x-history-source']).toBe('archive');
    expect(history.headers['x-workflow-run-id']).toBe(runId);
    const [stored] = await stack.database.db.select().from(auditArchive).where(eq(auditArchive.workflowId, workflowId));
    expect(history.body).toBe(stored!.history);
    expect(history.body).toBe(liveHistory);
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: inject('workflowBundlePath') } },
      historyFromJSON(history.json()),
      workflowId,
    );

    const replay = ok(await audit.replay(auditor, workflowId));
    expect(replay).toEqual({
      workflowId,
      runId,
      workflowType: 'AlertWorkflow',
      source: 'archive',
      events: history.json().events.length,
      deterministic: true,
    });
  }, 150_000);
});
