/**
 * Projects alert steps into the read model: the alert row, one event row per step and the outbox
 * rows, in one transaction. Idempotent: events and notifications are keyed by (workflow, seq), and an
 * older batch never overwrites a newer row, so replays and retries change nothing twice.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.js';
import { alerts, caseEvents, notifications } from '../db/schema.js';
import { RISK_RANK, type AlertView, type TimelineEvent } from '../domain/alert.js';
import type { NotificationDraft } from '../domain/notification.js';

export interface AlertRecordBatch {
  view: AlertView;
  events: { seq: number; event: TimelineEvent }[];
  notifications: NotificationDraft[];
}

const date = (value: string | null) => (value === null ? null : new Date(value));

export function alertRow(view: AlertView, seq: number): typeof alerts.$inferInsert {
  return {
    alertId: view.alertId,
    workflowId: view.workflowId,
    state: view.state,
    outcome: view.outcome,
    riskLevel: view.riskLevel,
    riskRank: RISK_RANK[view.riskLevel],
    fraudType: view.fraudType,
    stationId: view.stationId,
    source: view.source,
    issuedAt: new Date(view.issuedAt),
    receivedAt: new Date(view.receivedAt),
    victimPhone: view.victim.phone,
    victimName: view.victim.name,
    assigneeId: view.assignee?.userId ?? null,
    assigneeName: view.assignee?.name ?? null,
    callAttempts: view.callAttempts,
    escalationLevel: view.escalationLevel,
    overdue: view.overdue,
    deadline: date(view.deadline),
    amountAtRiskFen: view.amountAtRiskFen,
    stopPaymentId: view.stopPaymentId,
    firstCallAt: date(view.firstCallAt),
    closedAt: date(view.closedAt),
    seq,
    detail: view,
    updatedAt: new Date(),
  };
}

export function createAlertActivities({ db }: { db: Database }) {
  return {
    async recordAlertEvents(batch: AlertRecordBatch): Promise<void> {
      const seq = Math.max(0, ...batch.events.map((e) => e.seq));
      const row = alertRow(batch.view, seq);
      await db.transaction(async (tx) => {
        const { alertId: _id, ...changes } = row;
        await tx
          .insert(alerts)
          .values(row)
          .onConflictDoUpdate({ target: alerts.alertId, set: changes, setWhere: sql`${alerts.seq} < ${seq}` });
        if (batch.events.length > 0)
          await tx
            .insert(caseEvents)
            .values(
              batch.events.map(({ seq: eventSeq, event }) => ({
                workflowId: batch.view.workflowId,
                seq: eventSeq,
                caseType: 'alert',
                caseId: batch.view.alertId,
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
                dedupeKey: `${batch.view.workflowId}:${n.seq}:${n.recipientRole}`,
                recipientRole: n.recipientRole,
                recipientUserId: n.recipientUserId ?? null,
                kind: n.kind,
                caseType: 'alert',
                caseId: batch.view.alertId,
                workflowId: batch.view.workflowId,
                message: n.message,
                payload: n.payload,
              })),
            )
            .onConflictDoNothing();
      });
    },
  };
}

export type AlertActivities = ReturnType<typeof createAlertActivities>;
