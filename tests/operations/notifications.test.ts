/** Outbox rows reach people: a signed webhook, retried until it answers, never delivered twice. */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/index.js';
import { notifications } from '#db/schema.js';
import { signWebhook } from '#worker/notifications/channels.js';
import { channelsFromConfig, createDispatcher, type Dispatcher } from '#worker/notifications/dispatcher.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const SECRET = 'webhook-secret-for-tests-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

let stack: Stack;
let receiver: Server;
let receiverUrl: string;
const received: Received[] = [];
let failuresLeft = 0;
let platform: Caller, supervisor: Caller, operator: Caller;

beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      if (failuresLeft > 0) {
        failuresLeft--;
        response.writeHead(503).end();
        return;
      }
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/hook`;
  stack = await startStack({ policy: { alert: { claimSla: { high: '500ms', medium: '1h', low: '1h' } } } });
  platform = await stack.user(['platform']);
  supervisor = await stack.user(['supervisor']);
  operator = await stack.user(['operator']);
});
afterAll(async () => {
  await stack?.close();
  await new Promise((resolve) => receiver.close(resolve));
});

function dispatcher(): Dispatcher {
  const config = loadConfig({
    FANZHA_WEBHOOK_URL_SUPERVISOR: receiverUrl,
    FANZHA_WEBHOOK_URL_CENTER_HEAD: receiverUrl,
    FANZHA_WEBHOOK_SECRET: SECRET,
  });
  return createDispatcher({
    db: stack.database.db,
    channelFor: channelsFromConfig(config, () => {}),
    pollIntervalMs: 50,
    retryBaseMs: 100,
  });
}

async function escalatedTwice() {
  const alert = newAlert({ riskLevel: 'high' });
  await alertApi(stack).ingest(platform, alert);
  await waitFor(
    'two outbox rows',
    async () =>
      (await stack.database.db.select().from(notifications).where(eq(notifications.caseId, alert.alertId))).length ===
      2,
  );
  return alert.alertId;
}

const deliveredIds = () => received.map((r) => JSON.parse(r.body).id as number);

describe('notification delivery', () => {
  it('posts signed JSON to the role webhook, retrying until it answers, and marks it delivered', async () => {
    const alertId = await escalatedTwice();
    failuresLeft = 2;
    const running = dispatcher();
    running.start();
    try {
      await waitFor('both delivered', async () => {
        const rows = await stack.database.db.select().from(notifications).where(eq(notifications.caseId, alertId));
        return rows.every((r) => r.deliveredAt !== null);
      });
    } finally {
      await running.stop();
    }
    const rows = await stack.database.db
      .select()
      .from(notifications)
      .where(eq(notifications.caseId, alertId))
      .orderBy(notifications.id);
    expect(rows.map((r) => [r.recipientRole, r.deliveredVia])).toEqual([
      ['supervisor', 'webhook'],
      ['center_head', 'webhook'],
    ]);
    expect(rows.reduce((sum, r) => sum + r.attempts, 0)).toBe(4);
    const mine = received.filter((r) => JSON.parse(r.body).caseId === alertId);
    expect(mine).toHaveLength(2);
    for (const delivery of mine) {
      const body = JSON.parse(delivery.body);
      expect(body).toMatchObject({ kind: 'alert_overdue', caseType: 'alert', caseId: alertId });
      expect(delivery.headers['x-fanzha-notification-id']).toBe(String(body.id));
      const timestamp = delivery.headers['x-fanzha-timestamp'] as string;
      expect(delivery.headers['x-fanzha-signature']).toBe(signWebhook(SECRET, timestamp, delivery.body));
      expect(delivery.headers['x-fanzha-signature']).not.toBe(
        signWebhook('another-secret-of-sixteen', timestamp, delivery.body),
      );
    }
  });

  it('never delivers one twice: across a dispatcher restart, and with two dispatchers at once', async () => {
    const first = dispatcher();
    first.start();
    await escalatedTwice();
    await waitFor('delivered', async () =>
      (await stack.database.db.select().from(notifications)).every((r) => r.deliveredAt),
    );
    await first.stop();

    // New notifications while no dispatcher runs, then two dispatchers racing for them.
    await escalatedTwice();
    await escalatedTwice();
    const [a, b] = [dispatcher(), dispatcher()];
    a.start();
    b.start();
    try {
      await waitFor('all delivered', async () =>
        (await stack.database.db.select().from(notifications)).every((r) => r.deliveredAt),
      );
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    const ids = deliveredIds();
    expect(new Set(ids).size).toBe(ids.length);
    const all = await stack.database.db.select().from(notifications);
    expect(ids.sort((x, y) => x - y)).toEqual(all.map((r) => r.id).sort((x, y) => x - y));
  });

  it('lets a supervisor list undelivered and recent notifications', async () => {
    const alertId = await escalatedTwice();
    const undelivered = await stack.request(supervisor, { method: 'GET', url: '/v1/notifications?undelivered=true' });
    expect(undelivered.statusCode).toBe(200);
    const items = undelivered.json().items;
    expect(items.length).toBe(2);
    expect(
      items.every(
        (n: { deliveredAt: string | null; caseId: string }) => n.deliveredAt === null && n.caseId === alertId,
      ),
    ).toBe(true);
    const recent = (await stack.request(supervisor, { method: 'GET', url: '/v1/notifications?limit=3' })).json();
    expect(recent.items).toHaveLength(3);
    expect(recent.items[0].id).toBeGreaterThan(recent.items[1].id);
    expect(recent.nextCursor).not.toBeNull();
    const next = (
      await stack.request(supervisor, { method: 'GET', url: `/v1/notifications?limit=3&cursor=${recent.nextCursor}` })
    ).json();
    expect(next.items[0].id).toBeLessThan(recent.items[2].id);
    expect((await stack.request(operator, { method: 'GET', url: '/v1/notifications' })).statusCode).toBe(403);
  });
});
