/**
 * Event rows and outbox rows of any case (alert, stop-payment, hold), keyed by (workflow, seq):
 * a replayed or retried projection inserts nothing twice.
 */
import type { Database } from '#db/client.js';
import { caseEvents, liveChanges, notifications } from '#db/schema.js';
import type { RecordBatch } from '#workflows/recorder.js';

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

export async function writeCaseSteps(
  tx: Tx,
  target: { workflowId: string; caseType: 'alert' | 'stop_payment'; caseId: string },
  batch: Pick<RecordBatch<unknown>, 'events' | 'notifications'>,
  /** The case as it is now, for the console's live feed (live_changes; read-model/live.ts streams it). */
  now: { stationId: string | null; state: string },
): Promise<void> {
  // One row per projection: a retried projection only tells the consoles twice.
  await tx.insert(liveChanges).values({ ...target, ...now });
  if (batch.events.length > 0)
    await tx
      .insert(caseEvents)
      .values(
        batch.events.map(({ seq, event }) => ({
          ...target,
          seq,
          at: new Date(event.at),
          kind: event.kind,
          actorUserId: event.actor?.userId ?? null,
          actorRole: event.actor?.role ?? null,
          detail: event.detail,
        })),
      )
      .onConflictDoNothing();
  if (batch.notifications.length > 0)
    await tx
      .insert(notifications)
      .values(
        batch.notifications.map((n) => ({
          ...target,
          dedupeKey: `${target.workflowId}:${n.seq}:${n.recipientRole}`,
          recipientRole: n.recipientRole,
          recipientUserId: n.recipientUserId ?? null,
          kind: n.kind,
          message: n.message,
          payload: n.payload,
        })),
      )
      .onConflictDoNothing();
}
