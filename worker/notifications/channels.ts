/** Where a notification goes: a signed webhook, or the log. */
import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import type { notifications } from '#db/schema.js';

export type OutboxNotification = typeof notifications.$inferSelect;

export interface NotificationChannel {
  readonly name: 'webhook' | 'log';
  /** Resolves when delivered; throws (to be retried later) when not. */
  send(notification: OutboxNotification): Promise<void>;
}

export const webhookBody = (n: OutboxNotification) =>
  JSON.stringify({
    id: n.id,
    kind: n.kind,
    recipientRole: n.recipientRole,
    caseType: n.caseType,
    caseId: n.caseId,
    workflowId: n.workflowId,
    message: n.message,
    payload: n.payload,
    createdAt: n.createdAt.toISOString(),
  });

const STANDARD_SECRET_PREFIX = 'whsec_';

/**
 * The Standard Webhooks signing key for FANZHA_WEBHOOK_SECRET: a `whsec_<base64>` secret is that
 * key; any other secret's key is its UTF-8 bytes — the key the x-fanzha-signature HMAC always used,
 * so a receiver configures `whsec_` + base64 of the secret it already has.
 */
export const webhookSigningKey = (secret: string): Uint8Array =>
  secret.startsWith(STANDARD_SECRET_PREFIX)
    ? Buffer.from(secret.slice(STANDARD_SECRET_PREFIX.length), 'base64')
    : Buffer.from(secret, 'utf8');

/** Stable for one notification across every redelivery (the spec's idempotency key). */
export const webhookId = (n: Pick<OutboxNotification, 'id'>) => `ntf_${n.id}`;

/**
 * The x-fanzha-signature recipe before Standard Webhooks: `sha256=<hex>` of HMAC(secret,
 * `<timestamp>.<body>`). Deprecated; sent until release 0.2.0.
 */
export const legacyWebhookSignature = (secret: string, timestamp: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export function webhookChannel(options: { url: string; secret: string; timeoutMs?: number }): NotificationChannel {
  const signer = new Webhook(webhookSigningKey(options.secret), { format: 'raw' });
  return {
    name: 'webhook',
    async send(notification) {
      const body = webhookBody(notification);
      const id = webhookId(notification);
      const sentAt = new Date();
      const timestamp = String(Math.floor(sentAt.getTime() / 1000));
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // Standard Webhooks: the same webhook-id on every attempt lets a receiver drop a repeat
          // (a crash between its answer and marking the row delivered sends it again).
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': signer.sign(id, sentAt, body),
          // Deprecated, until release 0.2.0: receivers still checking the old recipe.
          'x-fanzha-notification-id': String(notification.id),
          'x-fanzha-timestamp': timestamp,
          'x-fanzha-signature': legacyWebhookSignature(options.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5_000),
      });
      if (!response.ok) throw new Error(`webhook answered ${response.status}`);
    },
  };
}

export function logChannel(log: (line: string, fields: Record<string, unknown>) => void): NotificationChannel {
  return {
    name: 'log',
    async send(n) {
      log(`notification for ${n.recipientRole}: ${n.message}`, {
        notificationId: n.id,
        kind: n.kind,
        caseId: n.caseId,
      });
    },
  };
}
