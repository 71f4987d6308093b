/**
 * Delivers the notification outbox. A dispatcher claims a batch of due rows with a lease (one short
 * statement, FOR UPDATE SKIP LOCKED, so two dispatchers never claim the same row), delivers each
 * outside any transaction — a webhook that hangs holds no lock and no connection — and marks it
 * delivered, or due again later with backoff. A dispatcher that dies mid-batch leaves its rows to
 * another once the lease runs out (a webhook may then hear of one twice: each carries its ID).
 */
import { and, asc, eq, inArray, isNull, lte, or } from 'drizzle-orm';
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
  /** How long a claimed row is this dispatcher's to deliver (default 2 minutes: 20 webhooks of 5 s, twice over). */
  leaseMs?: number;
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

  const leaseMs = options.leaseMs ?? 120_000;

  /** Delivers what is due now; returns how many were delivered. */
  async function dispatchOnce(): Promise<number> {
    const now = new Date();
    const due = db
      .select({ id: notifications.id })
      .from(notifications)
      .where(
        and(
          isNull(notifications.deliveredAt),
          or(isNull(notifications.nextAttemptAt), lte(notifications.nextAttemptAt, now)),
          or(isNull(notifications.claimedUntil), lte(notifications.claimedUntil, now)),
        ),
      )
      .orderBy(asc(notifications.id))
      .limit(options.batchSize ?? 20)
      .for('update', { skipLocked: true });
    const claimed = await db
      .update(notifications)
      .set({ claimedUntil: new Date(now.getTime() + leaseMs) })
      .where(inArray(notifications.id, due))
      .returning();
    let delivered = 0;
    for (const row of claimed.sort((a, b) => a.id - b.id)) {
      const channel = options.channelFor(row.recipientRole);
      try {
        await channel.send(row);
        await db
          .update(notifications)
          .set({
            deliveredAt: new Date(),
            deliveredVia: channel.name,
            attempts: row.attempts + 1,
            lastError: null,
            nextAttemptAt: null,
            claimedUntil: null,
          })
          .where(eq(notifications.id, row.id));
        delivered++;
      } catch (error) {
        const delay = Math.min(retryBaseMs * 2 ** row.attempts, 300_000);
        await db
          .update(notifications)
          .set({
            attempts: row.attempts + 1,
            lastError: (error as Error).message.slice(0, 500),
            nextAttemptAt: new Date(Date.now() + delay),
            claimedUntil: null,
          })
          // Not over a delivery another dispatcher made after this one's lease ran out.
          .where(and(eq(notifications.id, row.id), isNull(notifications.deliveredAt)));
      }
    }
    return delivered;
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
