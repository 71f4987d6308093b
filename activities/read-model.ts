/** The projection activities: each workflow step reaches the read model through one of these (the history keeps its input). */
import type { Database } from '#db/client.js';
import type { AlertView, WithoutTimeline } from '#domain/alert.js';
import type { HoldView, StopPaymentView } from '#domain/stop-payment.js';
import { projectAlertBatch } from '#read-model/alerts.js';
import { linkAlertToStopPayment, projectHoldBatch, projectStopPaymentBatch } from '#read-model/stop-payments.js';
import type { RecordBatch } from '#workflows/recorder.js';

export function createReadModelActivities({ db }: { db: Database }) {
  return {
    recordAlertEvents: (batch: RecordBatch<WithoutTimeline<AlertView>>) => projectAlertBatch(db, batch),
    recordStopPaymentEvents: (batch: RecordBatch<WithoutTimeline<StopPaymentView>>) =>
      projectStopPaymentBatch(db, batch),
    recordHoldEvents: (batch: RecordBatch<HoldView> & { stopPaymentId: string }) => projectHoldBatch(db, batch),
    linkAlertToStopPayment: (link: { alertId: string; stopPaymentId: string }) => linkAlertToStopPayment(db, link),
  };
}

export type ReadModelActivities = ReturnType<typeof createReadModelActivities>;
/** What AlertWorkflow calls. */
export type AlertActivities = Pick<ReadModelActivities, 'recordAlertEvents'>;
/** What StopPaymentWorkflow and HoldWorkflow call to project. */
export type StopPaymentRecordActivities = Omit<ReadModelActivities, 'recordAlertEvents'>;
