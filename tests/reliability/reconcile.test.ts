/**
 * The reconciliation check itself can fail: a read model tampered with in every way it could go wrong
 * (row missing, row stale, event missing, event extra, hold stale, row without a workflow) is reported
 * difference by difference; `--repair` rewrites it from the workflows; a second run finds nothing.
 * Also run as `npm run reconcile` would, in its own process.
 */
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { reconcile } from '#read-model/reconcile.js';
import { alerts, caseEvents, holds, stopPayments } from '#db/schema.js';
import { alertApi, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { leftoverProcesses, startNodeProcess, stopAllProcesses } from '../helpers/processes.js';
import { newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { keptAndRebuiltRollups } from '../helpers/stats.js';

let stack: Stack;
const ids = { open: '', closed: '', missing: '', caseId: '', holdId: '' };

beforeAll(async () => {
  stack = await startStack({});
  const platform = await stack.user(['platform']);
  const operator = await stack.user(['operator']);
  const calltaker = await stack.user(['calltaker']);
  const approver = await stack.user(['approver']);
  const a = alertApi(stack);
  for (const key of ['open', 'closed', 'missing'] as const) {
    const alert = newAlert();
    expect((await a.ingest(platform, alert)).statusCode).toBe(201);
    ids[key] = alert.alertId;
  }
  await a.claim(operator, ids.closed);
  expect((await a.callResult(operator, ids.closed, { result: 'contacted', outcome: 'dissuaded' })).json().state).toBe(
    'closed',
  );
  const s = stopPaymentApi(stack);
  ids.caseId = (await s.file(calltaker, newFiling())).json().stopPaymentId;
  await s.approve(approver, ids.caseId);
  await waitFor('the hold to stop', async () => {
    const [row] = await stack.database.db.select().from(holds).where(eq(holds.stopPaymentId, ids.caseId));
    if (row?.state === 'stopped') ids.holdId = row.holdId;
    return row?.state === 'stopped';
  });
  await readModelRow(stack, ids.closed, (r) => r.state === 'closed');
  await waitFor(
    'the closed alert to finish',
    async () => (await stack.client.workflow.getHandle(`alert-${ids.closed}`).describe()).status.name === 'COMPLETED',
  );
});

afterAll(async () => {
  await stopAllProcesses();
  await stack?.close();
  expect(leftoverProcesses()).toEqual([]);
});

describe('reconcile', () => {
  const tq = () => stack.config.temporal.taskQueue;

  it('finds nothing in a healthy read model', async () => {
    const report = await reconcile({ db: stack.database.db, client: stack.client, taskQueue: tq() });
    expect(report.differences).toEqual([]);
    expect(report.checked).toEqual({ alerts: 3, stopPayments: 1, holds: 1 });
  });

  it('reports every kind of difference, repairs what the workflows can tell, and then finds nothing', async () => {
    const db = stack.database.db;
    await db.delete(alerts).where(eq(alerts.alertId, ids.missing));
    await db.update(alerts).set({ state: 'queued', outcome: null }).where(eq(alerts.alertId, ids.closed));
    await db.delete(caseEvents).where(sql`${caseEvents.workflowId} = ${`alert-${ids.open}`} and ${caseEvents.seq} = 1`);
    await db.insert(caseEvents).values({
      workflowId: `stoppay-${ids.caseId}`,
      seq: 999,
      caseType: 'stop_payment',
      caseId: ids.caseId,
      at: new Date(),
      kind: 'approved',
    });
    await db.update(holds).set({ stoppedFen: 1 }).where(eq(holds.holdId, ids.holdId));
    await db.update(stopPayments).set({ stoppedFen: 1 }).where(eq(stopPayments.stopPaymentId, ids.caseId));
    const orphan = (await db.select().from(alerts).where(eq(alerts.alertId, ids.open)))[0]!;
    await db.insert(alerts).values({ ...orphan, alertId: 'NEVER-STARTED', workflowId: 'alert-NEVER-STARTED' });

    const found = await reconcile({ db, client: stack.client, taskQueue: tq() });
    const summary = found.differences.map((d) => `${d.kind} ${d.id} ${d.problem} ${d.fields.join(',')}`).sort();
    expect(summary).toEqual(
      [
        `alert ${ids.missing} missing_row `,
        `alert ${ids.closed} stale_row state,outcome`,
        `alert ${ids.open} events 1`,
        `stop_payment ${ids.caseId} events 999`,
        `stop_payment ${ids.caseId} stale_row stoppedFen`,
        `hold ${ids.holdId} stale_row stoppedFen`,
        'alert NEVER-STARTED orphan_row ',
      ].sort(),
    );

    const repaired = await reconcile({ db, client: stack.client, taskQueue: tq(), repair: true });
    expect(repaired.repaired).toBe(6);
    expect(repaired.differences.filter((d) => !d.repaired).map((d) => d.problem)).toEqual(['orphan_row']);
    await db.delete(alerts).where(eq(alerts.alertId, 'NEVER-STARTED'));
    const again = await reconcile({ db, client: stack.client, taskQueue: tq() });
    expect(again.differences).toEqual([]);
    expect((await readModelRow(stack, ids.closed)).state).toBe('closed');
    // The statistics' rollups followed every damage and repair: they are what the rows make of them.
    const { kept, rebuilt } = await keptAndRebuiltRollups(db);
    expect(kept).toEqual(rebuilt);
  });

  it('runs as `npm run reconcile`: exit 1 with differences, 0 after --repair', async () => {
    await stack.database.db.update(alerts).set({ callAttempts: 7 }).where(eq(alerts.alertId, ids.closed));
    const env = {
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
      FANZHA_TASK_QUEUE: tq(),
    };
    const run = async (args: string[]) => {
      const proc = startNodeProcess('reconcile', 'scripts/reconcile.ts', env, args);
      const { code } = await proc.exited;
      return { code, output: proc.output() };
    };
    const check = await run([]);
    expect(check.code, check.output).toBe(1);
    expect(check.output).toContain(`alert ${ids.closed} (alert-${ids.closed}): stale_row [callAttempts]`);
    const repair = await run(['--repair', '--json']);
    expect(repair.code, repair.output).toBe(0);
    expect(JSON.parse(repair.output.slice(repair.output.indexOf('{')))).toMatchObject({ repaired: 1, clean: false });
    const clean = await run([]);
    expect(clean.code, clean.output).toBe(0);
    expect(clean.output).toContain('the read model matches every workflow');
  }, 90_000);
});
