/**
 * Delivers the notification outbox. Rows are claimed with FOR UPDATE SKIP LOCKED, so several
 * dispatchers (one per worker process) never deliver the same row; a failed delivery is retried
 * with backoff. A row is marked delivered in the same transaction that claimed it.
 */
import { and, asc, isNull, lte, or, sql } from 'drizzle-orm';
import type { FanzhaConfig, NotificationRecipient } from '#config/index.js';
import type { Database } from '#db/client.js';
import { notifications } from '#db/schema.js';
import { logChannel, webhookChannel, type NotificationChannel } from './channels.js';

export interface DispatcherOptions {
  db: Database;
  channelFor: (recipientRole: string) => NotificationChannel;
  pollIntervalMs: number;
  /** First retry delay; doubles per failed attempt up to 5 minutes. */
  retryBaseMs?: number;
  batchSize?: number;
  onError?: (error: unknown) => void;
}

export function channelsFromConfig(config: FanzhaConfig, log: (line: string, fields: Record<string, unknown>) => void) {
  const toLog = logChannel(log);
  const hooks = new Map<string, NotificationChannel>();
  for (const [role, url] of Object.entries(config.notifications.webhooks))
    hooks.set(role, webhookChannel({ url, secret: config.notifications.webhookSecret! }));
  return (recipientRole: string) => hooks.get(recipientRole as NotificationRecipient) ?? toLog;
}

export function createDispatcher(options: DispatcherOptions) {
  const { db } = options;
  const retryBaseMs = options.retryBaseMs ?? 1_000;
  let timer: NodeJS.Timeout | null = null;
  let stopped = false;

  /** Delivers what is due now; returns how many were delivered. */
  async function dispatchOnce(): Promise<number> {
    return db.transaction(async (tx) => {
      const due = await tx
        .select()
        .from(notifications)
        .where(
          and(
            isNull(notifications.deliveredAt),
            or(isNull(notifications.nextAttemptAt), lte(notifications.nextAttemptAt, new Date())),
          ),
        )
        .orderBy(asc(notifications.id))
        .limit(options.batchSize ?? 20)
        .for('update', { skipLocked: true });
      let delivered = 0;
      for (const row of due) {
        const channel = options.channelFor(row.recipientRole);
        try {
          await channel.send(row);
          await tx
            .update(notifications)
            .set({
              deliveredAt: new Date(),
              deliveredVia: channel.name,
              attempts: row.attempts + 1,
              lastError: null,
              nextAttemptAt: null,
            })
            .where(sql`${notifications.id} = ${row.id}`);
          delivered++;
        } catch (error) {
          const delay = Math.min(retryBaseMs * 2 ** row.attempts, 300_000);
          await tx
            .update(notifications)
            .set({
              attempts: row.attempts + 1,
              lastError: (error as Error).message.slice(0, 500),
              nextAttemptAt: new Date(Date.now() + delay),
            })
            .where(sql`${notifications.id} = ${row.id}`);
        }
      }
      return delivered;
    });
  }

  let loop: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });

  return {
    dispatchOnce,
    start() {
      stopped = false;
      loop = (async () => {
        while (!stopped) {
          const batch = options.batchSize ?? 20;
          const delivered = await dispatchOnce().catch((error) => {
            options.onError?.(error);
            return 0;
          });
          // A full batch means a backlog: go again at once.
          if (delivered < batch && !stopped) await pause(options.pollIntervalMs);
        }
      })();
    },
    /** Stops polling and waits for a delivery in progress to finish. */
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}

export type Dispatcher = ReturnType<typeof createDispatcher>;
