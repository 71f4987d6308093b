/**
 * A webhook that hangs holds nothing: on the embedded database (PGlite, one connection for the whole
 * process) every other query still answers while every delivery hangs; the hanging dispatcher's rows
 * are its own until its lease runs out, and then another delivers them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '#db/client.js';
import { notifications } from '#db/schema.js';
import type { NotificationChannel } from '#worker/notifications/channels.js';
import { createDispatcher } from '#worker/notifications/dispatcher.js';
import { waitFor } from '../helpers/alerts.js';

let dir: string;
let database: DatabaseHandle;
const hanging: (() => void)[] = [];

/** A webhook that never answers (until the test lets it go). */
const blackHole: NotificationChannel = {
  name: 'webhook',
  send: () => new Promise<void>((_resolve, reject) => hanging.push(() => reject(new Error('let go')))),
};
const sent: number[] = [];
const working: NotificationChannel = {
  name: 'webhook',
  send: async (row) => {
    sent.push(row.id);
  },
};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-lease-'));
  database = await openDatabase({ url: null, dataDir: dir });
  await database.migrate();
  await database.db.insert(notifications).values(
    [1, 2].map((n) => ({
      dedupeKey: `wf-${n}:1:supervisor`,
      recipientRole: 'supervisor',
      kind: 'alert_overdue',
      caseType: 'alert',
      caseId: `A-${n}`,
      workflowId: `alert-A-${n}`,
      message: `alert ${n} overdue`,
    })),
  );
});
afterAll(async () => {
  for (const letGo of hanging) letGo();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

const answersWithin = async (ms: number, query: () => Promise<unknown>) =>
  Promise.race([query().then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);

describe('delivering the outbox', () => {
  it('holds no lock and no connection while a webhook hangs, and leaves its rows to another once its lease runs out', async () => {
    const stuck = createDispatcher({
      db: database.db,
      channelFor: () => blackHole,
      pollIntervalMs: 50,
      leaseMs: 1_500,
    });
    const delivering = stuck.dispatchOnce();
    await waitFor('the first delivery hanging', async () => hanging.length > 0);

    // The one connection is free: reads and writes answer while the delivery hangs.
    expect(await answersWithin(2_000, () => database.db.execute(sql`select 1`))).toBe(true);
    expect(
      await answersWithin(2_000, () =>
        database.db
          .update(notifications)
          .set({ lastError: null })
          .where(sql`false`),
      ),
    ).toBe(true);

    // Another dispatcher finds nothing to take while the lease holds…
    const other = createDispatcher({ db: database.db, channelFor: () => working, pollIntervalMs: 50 });
    expect(await other.dispatchOnce()).toBe(0);
    expect(sent).toEqual([]);
    // …and delivers both once it has run out.
    await new Promise((resolve) => setTimeout(resolve, 1_600));
    expect(await other.dispatchOnce()).toBe(2);
    expect(sent.sort()).toEqual([1, 2]);
    const rows = await database.db.select().from(notifications);
    expect(rows.every((r) => r.deliveredAt !== null && r.claimedUntil === null)).toBe(true);

    // Let the stuck one go: its late failures change nothing that was delivered.
    const settled = delivering.then(() => true);
    while (!(await Promise.race([settled, new Promise<boolean>((r) => setTimeout(() => r(false), 50))])))
      for (const letGo of hanging.splice(0)) letGo();
    expect((await database.db.select().from(notifications)).every((r) => r.deliveredAt !== null)).toBe(true);
  });
});
