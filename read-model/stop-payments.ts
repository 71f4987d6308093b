/** The stop_payments and holds tables of the read model: rows of case and hold views, and their projections, idempotent (see case-steps.ts). */
import { eq, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { alerts, holds, stopPayments } from '#db/schema.js';
import { withoutTimeline, type WithoutTimeline } from '#domain/alert.js';
import type { HoldView, StopPaymentView } from '#domain/stop-payment.js';
import type { RecordBatch } from '#workflows/recorder.js';
import { writeCaseSteps } from './case-steps.js';

const date = (value: string | null) => (value === null ? null : new Date(value));

/** The stop_payments row for a case view (the projection and `npm run reconcile` share it). */
export function stopPaymentRow(view: WithoutTimeline<StopPaymentView>, seq: number): typeof stopPayments.$inferInsert {
  return {
    stopPaymentId: view.stopPaymentId,
    workflowId: view.workflowId,
    state: view.state,
    createdById: view.createdBy.userId,
    createdByName: view.createdBy.name,
    approvedById: view.approvedBy?.userId ?? null,
    approvedByName: view.approvedBy?.name ?? null,
    reportedAt: new Date(view.reportedAt),
    createdAt: new Date(view.createdAt),
    approvedAt: date(view.approvedAt),
    rejectedAt: view.state === 'rejected' ? date(view.closedAt) : null,
    firstStopAt: date(view.firstStopAt),
    closedAt: date(view.closedAt),
    deadline: date(view.deadline),
    escalationLevel: view.escalationLevel,
    major: view.major,
    requestedFen: view.requestedFen,
    stoppedFen: view.stoppedFen,
    frozenFen: view.frozenFen,
    alertId: view.alertId,
    caseRef: view.caseRef,
    victimPhone: view.victim.phone,
    victimName: view.victim.name,
    seq,
    detail: withoutTimeline(view),
    updatedAt: new Date(),
  };
}

/** The holds row for a hold view (the projection and `npm run reconcile` share it). */
export function holdRow(view: HoldView, stopPaymentId: string, seq: number): typeof holds.$inferInsert {
  return {
    holdId: view.holdId,
    stopPaymentId,
    level: view.level,
    parentHoldId: view.parentHoldId,
    bank: view.bank,
    account: view.account,
    state: view.state,
    requestedFen: view.requestedFen,
    stoppedFen: view.stoppedFen,
    frozenFen: view.frozenFen,
    expiresAt: date(view.expiresAt),
    legalDocRef: view.legalDocRef,
    stoppedAt: date(view.stoppedAt),
    seq,
    updatedAt: new Date(),
  };
}

export async function projectStopPaymentBatch(
  db: Database,
  batch: RecordBatch<WithoutTimeline<StopPaymentView>>,
): Promise<void> {
  const { view, seq } = batch;
  const row = stopPaymentRow(view, seq);
  await db.transaction(async (tx) => {
    const { stopPaymentId: _id, ...changes } = row;
    await tx
      .insert(stopPayments)
      .values(row)
      .onConflictDoUpdate({
        target: stopPayments.stopPaymentId,
        set: changes,
        setWhere: sql`${stopPayments.seq} <= ${seq}`,
      });
    await writeCaseSteps(
      tx,
      { workflowId: view.workflowId, caseType: 'stop_payment', caseId: view.stopPaymentId },
      batch,
      { stationId: null, state: view.state },
    );
  });
}

export async function projectHoldBatch(
  db: Database,
  batch: RecordBatch<HoldView> & { stopPaymentId: string },
): Promise<void> {
  const { view, seq, stopPaymentId } = batch;
  const row = holdRow(view, stopPaymentId, seq);
  await db.transaction(async (tx) => {
    const { holdId: _id, ...changes } = row;
    await tx
      .insert(holds)
      .values(row)
      .onConflictDoUpdate({ target: holds.holdId, set: changes, setWhere: sql`${holds.seq} <= ${seq}` });
    await writeCaseSteps(tx, { workflowId: view.workflowId, caseType: 'stop_payment', caseId: stopPaymentId }, batch, {
      stationId: null,
      state: view.state,
    });
  });
}

/** For an alert that is already closed (its workflow can no longer be told): link it in the read model. */
export async function linkAlertToStopPayment(
  db: Database,
  { alertId, stopPaymentId }: { alertId: string; stopPaymentId: string },
): Promise<void> {
  await db
    .update(alerts)
    .set({
      stopPaymentId,
      detail: sql`jsonb_set(${alerts.detail}, '{stopPaymentId}', to_jsonb(${stopPaymentId}::text))`,
    })
    .where(eq(alerts.alertId, alertId));
}
