/**
 * Every Update, Signal and Query of the workflows, defined once: the workflows implement them and
 * the API sends them. Decisions carry their actor so the history says who decided what.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type {
  AlertView,
  CallOutcome,
  DecisionActor,
  NotReachedReason,
  RiskLevel,
  VisitOutcome,
  WithoutTimeline,
} from '../domain/alert.js';
import type { OnwardTransfer } from '../domain/bank.js';
import type { HoldView, StopPaymentView } from '../domain/stop-payment.js';
import type { RecordedStep } from './step-log.js';

/**
 * What a decision answers with: the view without its timeline (see WithoutTimeline), and the steps
 * not yet in a scheduled projection — while the one before is still being written, the decision's
 * own steps wait in the workflow, and its answer is how the history holds them at once.
 */
export interface PendingSteps {
  pendingSteps?: RecordedStep[];
}
export type AlertAnswer = WithoutTimeline<AlertView> & PendingSteps;
export type StopPaymentAnswer = WithoutTimeline<StopPaymentView> & PendingSteps;

/**
 * What a closed alert or case returns: how it ended, for the audit timeline's last line. Its whole view
 * is in the last projection it scheduled (it waits for that projection before it completes), so the
 * history does not carry the view a second time.
 */
export type AlertResult = Pick<AlertView, 'alertId' | 'workflowId' | 'state' | 'outcome' | 'closedAt'>;
export type StopPaymentResult = Pick<
  StopPaymentView,
  'stopPaymentId' | 'workflowId' | 'state' | 'requestedFen' | 'stoppedFen' | 'frozenFen' | 'closedAt'
>;

/** Error types a validator refuses a decision with; the API maps them to 409/403 codes. */
export const REFUSAL = {
  invalidTransition: 'invalid_transition',
  notAssignee: 'not_assignee',
  separationOfDuties: 'separation_of_duties',
} as const;

// --- Alert -----------------------------------------------------------------------------------

export interface ClaimDecision {
  actor: DecisionActor;
}
export interface ReleaseDecision {
  actor: DecisionActor;
  note?: string;
}
export type CallResultDecision =
  | { actor: DecisionActor; result: 'contacted'; outcome: CallOutcome; amountAtRiskFen?: number; note?: string }
  | { actor: DecisionActor; result: 'not_reached'; reason?: NotReachedReason; note?: string };
export interface VisitResultDecision {
  actor: DecisionActor;
  outcome: VisitOutcome;
  note?: string;
  /** The station of an actor acting as a station officer: the validator refuses another station's alert. */
  stationId?: string;
}
export interface TransferDecision {
  actor: DecisionActor;
  stationId: string;
  reason: string;
}
export interface CancelDecision {
  actor: DecisionActor;
  reason: string;
}
/** A supervisor takes a held alert back to the queue: its operator went off the line, or away. */
export interface ForceReleaseDecision {
  actor: DecisionActor;
  reason: string;
}
/** A repeated push of the same alert by the platform. */
export interface PlatformUpdate {
  riskLevel: RiskLevel;
  receivedAt: string;
  note?: string;
}

export const claimUpdate = defineUpdate<AlertAnswer, [ClaimDecision], 'claim'>('claim');
export const releaseUpdate = defineUpdate<AlertAnswer, [ReleaseDecision], 'release'>('release');
export const forceReleaseUpdate = defineUpdate<AlertAnswer, [ForceReleaseDecision], 'forceRelease'>('forceRelease');
export const callResultUpdate = defineUpdate<AlertAnswer, [CallResultDecision], 'callResult'>('callResult');
export const visitResultUpdate = defineUpdate<AlertAnswer, [VisitResultDecision], 'visitResult'>('visitResult');
export const transferUpdate = defineUpdate<AlertAnswer, [TransferDecision], 'transfer'>('transfer');
export const cancelAlertUpdate = defineUpdate<AlertAnswer, [CancelDecision], 'cancel'>('cancel');
export const platformUpdateSignal = defineSignal<[PlatformUpdate], 'platformUpdate'>('platformUpdate');
export const linkStopPaymentSignal = defineSignal<[{ stopPaymentId: string }], 'linkStopPayment'>('linkStopPayment');
export const alertStateQuery = defineQuery<AlertAnswer>('state');

// --- Stop-payment case -----------------------------------------------------------------------

export interface ApproveDecision {
  actor: DecisionActor;
  note?: string;
}
export interface RejectDecision {
  actor: DecisionActor;
  reason: string;
}
export interface ReleaseCaseDecision {
  actor: DecisionActor;
  reason: string;
  /** Only these holds; all open holds when absent. */
  holdIds?: string[];
}

export const approveUpdate = defineUpdate<StopPaymentAnswer, [ApproveDecision], 'approve'>('approve');
export const rejectUpdate = defineUpdate<StopPaymentAnswer, [RejectDecision], 'reject'>('reject');
export const releaseCaseUpdate = defineUpdate<StopPaymentAnswer, [ReleaseCaseDecision], 'release'>('release');
export const stopPaymentStateQuery = defineQuery<StopPaymentAnswer>('state');
/** A hold tells its case what it is now. */
export const holdChangedSignal = defineSignal<[HoldView], 'holdChanged'>('holdChanged');
/** Accounts the money moved on to from a hold, `level` hops from the victim's transfers. */
export interface OnwardFound {
  parentHoldId: string;
  level: number;
  transfers: OnwardTransfer[];
  /** Onward accounts the bank named beyond the policy's maxOnwardAccountsPerHold: reported, not held. */
  beyondLimit?: number;
}
/** A hold tells its case which accounts the money moved on to. */
export const onwardFoundSignal = defineSignal<[OnwardFound], 'onwardFound'>('onwardFound');

// --- Hold (one held account) -----------------------------------------------------------------

export interface RestopDecision {
  actor: DecisionActor;
  note?: string;
}
export interface FreezeDecision {
  actor: DecisionActor;
  legalDocRef: string;
  note?: string;
}
export interface ReleaseHoldOrder {
  actor: DecisionActor;
  reason: string;
}

export const restopUpdate = defineUpdate<HoldView, [RestopDecision], 'restop'>('restop');
export const freezeUpdate = defineUpdate<HoldView, [FreezeDecision], 'freeze'>('freeze');
export const renewUpdate = defineUpdate<HoldView, [FreezeDecision], 'renew'>('renew');
/** Sent by the case when a senior approver releases it (or this hold). */
export const releaseHoldSignal = defineSignal<[ReleaseHoldOrder], 'releaseHold'>('releaseHold');
export const holdStateQuery = defineQuery<HoldView>('state');

// --- Vocabulary -------------------------------------------------------------------------------
// The messages each workflow type takes, by wire name: whoever words a history (the audit
// timeline) keys a Record on these names, so the compiler finds a message left out.

export const ALERT_UPDATES = [
  claimUpdate,
  releaseUpdate,
  forceReleaseUpdate,
  callResultUpdate,
  visitResultUpdate,
  transferUpdate,
  cancelAlertUpdate,
] as const;
export const STOP_PAYMENT_UPDATES = [approveUpdate, rejectUpdate, releaseCaseUpdate] as const;
export const HOLD_UPDATES = [restopUpdate, freezeUpdate, renewUpdate] as const;
export const SIGNALS = [
  platformUpdateSignal,
  linkStopPaymentSignal,
  holdChangedSignal,
  onwardFoundSignal,
  releaseHoldSignal,
] as const;

export type AlertUpdateName = (typeof ALERT_UPDATES)[number]['name'];
export type StopPaymentUpdateName = (typeof STOP_PAYMENT_UPDATES)[number]['name'];
export type HoldUpdateName = (typeof HOLD_UPDATES)[number]['name'];
export type SignalName = (typeof SIGNALS)[number]['name'];
