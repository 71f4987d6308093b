/**
 * The alerts table of the read model: the row of an alert view, and the projection of a batch of alert
 * steps — the alert row, one event row per step and the outbox rows, in one transaction. Idempotent: events and notifications are keyed by (workflow, seq), and an
 * older batch never overwrites a newer row, so replays and retries change nothing twice.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts } from '#db/schema.js';
import { RISK_RANK, withoutTimeline, type AlertView, type WithoutTimeline } from '#domain/alert.js';
import type { RecordBatch } from '#workflows/recorder.js';
import { writeCaseSteps } from './case-steps.js';

export type AlertRecordBatch = RecordBatch<WithoutTimeline<AlertView>>;

const date = (value: string | null) => (value === null ? null : new Date(value));

export function alertRow(view: WithoutTimeline<AlertView>, seq: number): typeof alerts.$inferInsert {
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
    detail: withoutTimeline(view),
    updatedAt: new Date(),
  };
}

export async function projectAlertBatch(db: Database, batch: AlertRecordBatch): Promise<void> {
  const { seq } = batch;
  const row = alertRow(batch.view, seq);
  await db.transaction(async (tx) => {
    const { alertId: _id, ...changes } = row;
    await tx
      .insert(alerts)
      .values(row)
      .onConflictDoUpdate({
        target: alerts.alertId,
        // A filing reserves its alert on this row before the workflow hears of the link: a view
        // projected meanwhile (no case yet) must not give the alert back to a second filing.
        set: { ...changes, stopPaymentId: sql`coalesce(excluded.stop_payment_id, ${alerts.stopPaymentId})` },
        setWhere: sql`${alerts.seq} <= ${seq}`,
      });
    await writeCaseSteps(
      tx,
      { workflowId: batch.view.workflowId, caseType: 'alert', caseId: batch.view.alertId },
      batch,
      { stationId: batch.view.stationId, state: batch.view.state },
    );
  });
}
