/**
 * The archive: closed histories copied into PostgreSQL by the ArchiverWorkflow (on a Temporal
 * Schedule), once each even when archivers race, hash-chained so that verification finds an altered
 * byte, a deleted record or two records swapped; and read from there once Temporal has deleted a run.
 */
import { randomBytes } from 'node:crypto';
import { asc, eq, sql } from 'drizzle-orm';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureArchiverSchedule } from '#audit/archiver-schedule.js';
import { appendToArchive } from '#audit/chain.js';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { auditArchive } from '#db/schema.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
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
const verify = async () => ok<{ ok: boolean; records: number; brokenAt?: string }>(await audit.verify(auditor));

describe('archiving', () => {
  it('archives each closed run exactly once, also with two archivers racing, and leaves running ones alone', async () => {
    const closed = await Promise.all([1, 2, 3, 4, 5].map(() => cancelledAlert()));
    const running = newAlert();
    await alerts.ingest(platform, running);
    const expected = await closedRuns(5);
    expect(expected).toHaveLength(5);

    const [first, second] = await Promise.all([
      runArchiver(stack, { batchSize: 2 }),
      runArchiver(stack, { batchSize: 2 }),
    ]);
    expect(first.archived + second.archived).toBe(5);
    const rows = await archivedRows();
    expect(rows.map((r) => `${r.workflowId}/${r.runId}`).sort()).toEqual(expected);
    expect(rows.map((r) => r.workflowId).sort()).toEqual(closed.sort());
    expect(rows.some((r) => r.workflowId === `alert-${running.alertId}`)).toBe(false);
    expect(rows.every((r) => r.workflowType === 'AlertWorkflow' && r.status === 'COMPLETED')).toBe(true);
    // A chain: each record names the hash of the one before it.
    expect(rows.map((r) => r.prevSha256)).toEqual([null, ...rows.slice(0, -1).map((r) => r.sha256)]);
    expect(await verify()).toEqual({ ok: true, records: 5 });

    // Nothing left to do; and the running alert is archived once it closes.
    expect(await runArchiver(stack)).toMatchObject({ archived: 0 });
    await alerts.cancel(supervisor, running.alertId, { reason: '重复预警' });
    await stack.client.workflow.getHandle(`alert-${running.alertId}`).result();
    await closedRuns(6);
    expect(await runArchiver(stack)).toMatchObject({ archived: 1 });
    expect(await verify()).toEqual({ ok: true, records: 6 });
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
        appendToArchive(stack.database.db, i % 2 ? record : { ...record, runId: 'r2' }),
      ),
    );
    expect(results.filter((r) => r.created)).toHaveLength(2);
    expect(new Set(results.map((r) => r.id)).size).toBe(2);
    expect((await archivedRows()).length).toBe(before + 2);
    expect(await verify()).toEqual({ ok: true, records: before + 2 });
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
    expect(await verify()).toEqual({ ok: false, records: total, brokenAt: String(second.id) });
    const cli = await runAuditCli(['verify'], { DATABASE_URL: stack.databaseUrl });
    expect(cli.code).toBe(1);
    expect(JSON.parse(cli.stdout)).toEqual({ ok: false, records: total, brokenAt: String(second.id) });
    await db.update(auditArchive).set({ history: second.history }).where(eq(auditArchive.id, second.id));
    expect(await verify()).toEqual({ ok: true, records: total });

    // A record deleted: the one after it no longer links up.
    await db.delete(auditArchive).where(eq(auditArchive.id, second.id));
    expect(await verify()).toEqual({ ok: false, records: total - 1, brokenAt: String(third.id) });
    await db.insert(auditArchive).values(second);
    expect(await verify()).toEqual({ ok: true, records: total });

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
    expect(await verify()).toEqual({ ok: false, records: total, brokenAt: String(second.id) });
    await db.transaction(async (tx) => {
      await tx
        .update(auditArchive)
        .set({ workflowId: sql`'swapping'`, runId: sql`'swapping'` })
        .where(eq(auditArchive.id, third.id));
      await tx.update(auditArchive).set(contents(second)).where(eq(auditArchive.id, second.id));
      await tx.update(auditArchive).set(contents(third)).where(eq(auditArchive.id, third.id));
    });
    expect(await verify()).toEqual({ ok: true, records: total });
    const fine = await runAuditCli(['verify'], { DATABASE_URL: stack.databaseUrl });
    expect(fine.code).toBe(0);
    expect(JSON.parse(fine.stdout)).toEqual({ ok: true, records: total });
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
