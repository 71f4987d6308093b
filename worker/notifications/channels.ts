/** Where a notification goes: a signed webhook, or the log. */
import { createHmac } from 'node:crypto';
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

/** `sha256=<hex>` over `<timestamp>.<body>`: the receiver recomputes it with the shared secret. */
export const signWebhook = (secret: string, timestamp: string, body: string) =>
  `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;

export function webhookChannel(options: { url: string; secret: string; timeoutMs?: number }): NotificationChannel {
  return {
    name: 'webhook',
    async send(notification) {
      const body = webhookBody(notification);
      const timestamp = String(Math.floor(Date.now() / 1000));
      const response = await fetch(options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          // Receivers can drop a repeat after a crash between sending and marking delivered.
          'x-fanzha-notification-id': String(notification.id),
          'x-fanzha-timestamp': timestamp,
          'x-fanzha-signature': signWebhook(options.secret, timestamp, body),
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
