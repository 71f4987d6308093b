/** Outbox rows reach people: a signed webhook, retried until it answers, never delivered twice. */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { eq } from 'drizzle-orm';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/index.js';
import { notifications } from '#db/schema.js';
import { channelsFromConfig, createDispatcher, type Dispatcher } from '#worker/notifications/dispatcher.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

const SECRET = 'webhook-secret-for-tests-0123456789';
/** What README tells a receiver to configure for a plain FANZHA_WEBHOOK_SECRET. */
const SECRET_AS_WHSEC = `whsec_${Buffer.from(SECRET, 'utf8').toString('base64')}`;

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}
/** Every attempt, answered or refused: a redelivery must carry the same webhook-id. */
const attempts: Received[] = [];

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
      attempts.push({ headers: request.headers, body });
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

function dispatcher(secret = SECRET): Dispatcher {
  const config = loadConfig({
    FANZHA_WEBHOOK_URL_SUPERVISOR: receiverUrl,
    FANZHA_WEBHOOK_URL_CENTER_HEAD: receiverUrl,
    FANZHA_WEBHOOK_SECRET: secret,
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
    const receiverSide = new Webhook(SECRET_AS_WHSEC);
    for (const delivery of mine) {
      const headers = delivery.headers as Record<string, string>;
      // The Standard Webhooks library's own verifier accepts it and hands back the notification.
      const body = receiverSide.verify(delivery.body, headers) as { id: number };
      expect(body).toMatchObject({ kind: 'alert_overdue', caseType: 'alert', caseId: alertId });
      expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
      // ...and refuses a tampered body, or a receiver holding another secret.
      const tampered = delivery.body.replace('"alert_overdue"', '"alert_closed"');
      expect(tampered).not.toBe(delivery.body);
      expect(() => receiverSide.verify(tampered, headers)).toThrow(WebhookVerificationError);
      expect(() =>
        new Webhook(`whsec_${Buffer.alloc(32, 1).toString('base64')}`).verify(delivery.body, headers),
      ).toThrow(WebhookVerificationError);
      // The same webhook-id on the refused attempts and the delivered one (the spec's idempotency).
      const tries = attempts.filter((a) => JSON.parse(a.body).id === body.id);
      expect(tries.length).toBeGreaterThanOrEqual(1);
      expect(new Set(tries.map((a) => a.headers['webhook-id']))).toEqual(new Set([headers['webhook-id']]));
      // The deprecated headers (until 0.2.0), still HMAC(secret, "<timestamp>.<body>").
      expect(headers['x-fanzha-notification-id']).toBe(String(body.id));
      expect(headers['x-fanzha-timestamp']).toBe(headers['webhook-timestamp']);
      expect(headers['x-fanzha-signature']).toBe(
        `sha256=${createHmac('sha256', SECRET).update(`${headers['x-fanzha-timestamp']}.${delivery.body}`).digest('hex')}`,
      );
    }
    // Two refused attempts, so some notification was sent three times under one webhook-id.
    const retried = mine.map((d) => attempts.filter((a) => a.headers['webhook-id'] === d.headers['webhook-id']).length);
    expect(retried.reduce((a, b) => a + b, 0)).toBe(4);
    expect(new Set(mine.map((d) => d.headers['webhook-id'])).size).toBe(2);
  });

  it('signs with a whsec_ secret as the receiver holds it', async () => {
    const secret = `whsec_${Buffer.from('0123456789abcdef0123456789abcdef').toString('base64')}`;
    const alertId = await escalatedTwice();
    const running = dispatcher(secret);
    running.start();
    try {
      await waitFor('both delivered', async () =>
        (await stack.database.db.select().from(notifications).where(eq(notifications.caseId, alertId))).every(
          (r) => r.deliveredAt !== null,
        ),
      );
    } finally {
      await running.stop();
    }
    const mine = received.filter((r) => JSON.parse(r.body).caseId === alertId);
    expect(mine).toHaveLength(2);
    for (const delivery of mine) {
      const headers = delivery.headers as Record<string, string>;
      expect(new Webhook(secret).verify(delivery.body, headers)).toMatchObject({ caseId: alertId });
      expect(() => new Webhook(SECRET_AS_WHSEC).verify(delivery.body, headers)).toThrow(WebhookVerificationError);
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
