/**
 * An archive written before the archive was keyed: its v1 records (plain SHA-256, no MAC) still
 * verify as they are, the records archived after them are sealed (v2), and the head is anchored.
 */
import { createHash, randomBytes } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditArchive } from '#db/schema.js';
import type { ArchiverResult } from '#workflows/archiver.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { auditApi, auditStackOptions, ok } from './helpers.js';

let stack: Stack;
let auditor: Caller;

beforeAll(async () => {
  stack = await startStack(auditStackOptions());
  auditor = await stack.user(['auditor']);
});
afterAll(async () => {
  await stack?.close();
});

/** A record as the previous release wrote it: hash of the v1 header and the history, no MAC. */
function v1Record(n: number, prevSha256: string | null) {
  const record = {
    workflowId: `old-${n}-${randomBytes(3).toString('hex')}`,
    runId: `run-${n}`,
    workflowType: 'AlertWorkflow',
    status: 'COMPLETED',
    closedAt: new Date(Date.UTC(2026, 0, n, 8)),
    history: JSON.stringify({ events: [{ eventId: '1', eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED' }] }),
  };
  const header = JSON.stringify({
    v: 1,
    ...record,
    closedAt: record.closedAt.toISOString(),
    history: undefined,
    prevSha256,
  });
  const sha256 = createHash('sha256').update(header).update('\n').update(record.history).digest('hex');
  return { ...record, prevSha256, sha256 };
}

describe('records from before the key', () => {
  it('still verify as they are, with sealed records after them and the head anchored', async () => {
    const first = v1Record(1, null);
    const second = v1Record(2, first.sha256);
    await stack.database.db.insert(auditArchive).values([first, second]);

    const alerts = alertApi(stack);
    const platform = await stack.user(['platform']);
    const supervisor = await stack.user(['supervisor']);
    const alert = newAlert();
    await alerts.ingest(platform, alert);
    await alerts.cancel(supervisor, alert.alertId, { reason: '平台撤回' });
    await stack.client.workflow.getHandle(`alert-${alert.alertId}`).result();

    const taskQueue = stack.config.temporal.taskQueue;
    const workflowId = `archiver-v1-${randomBytes(4).toString('hex')}`;
    const result = await waitFor('the alert archived after the old records', async () => {
      const outcome: ArchiverResult = await stack.client.workflow.execute('ArchiverWorkflow', {
        taskQueue,
        workflowId: `${workflowId}-${randomBytes(2).toString('hex')}`,
        args: [{ taskQueue }],
      });
      return outcome.archived === 1 ? outcome : undefined;
    });
    const rows = await stack.database.db.select().from(auditArchive).orderBy(asc(auditArchive.id));
    expect(rows.map((r) => [r.sha256, r.mac])).toEqual([
      [first.sha256, null],
      [second.sha256, null],
      [expect.stringMatching(/^[0-9a-f]{64}$/), expect.stringMatching(/^[0-9a-f]{64}$/)],
    ]);
    expect(rows[2]!.prevSha256).toBe(second.sha256);
    expect(result.head).toMatchObject({ id: rows[2]!.id });

    const audit = auditApi(stack);
    const verdict = await waitFor('the anchor listed', async () => {
      const v = ok<{ ok: boolean; anchoredAt?: string | null }>(await audit.verify(auditor));
      return v.anchoredAt ? v : undefined;
    });
    expect(verdict).toEqual({ ok: true, records: 3, anchoredAt: String(rows[2]!.id) });

    // A v1 record is still held to its hash.
    await stack.database.db.update(auditArchive).set({ status: 'FAILED' }).where(eq(auditArchive.id, rows[1]!.id));
    expect(ok(await audit.verify(auditor))).toMatchObject({
      ok: false,
      brokenAt: String(rows[1]!.id),
      reason: `record ${rows[1]!.id} does not match its hash: it was altered`,
    });
  });
});
