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
} from '../domain/alert.js';
import type { OnwardTransfer } from '../domain/bank.js';
import type { HoldView, StopPaymentView } from '../domain/stop-payment.js';

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

export const claimUpdate = defineUpdate<AlertView, [ClaimDecision], 'claim'>('claim');
export const releaseUpdate = defineUpdate<AlertView, [ReleaseDecision], 'release'>('release');
export const forceReleaseUpdate = defineUpdate<AlertView, [ForceReleaseDecision], 'forceRelease'>('forceRelease');
export const callResultUpdate = defineUpdate<AlertView, [CallResultDecision], 'callResult'>('callResult');
export const visitResultUpdate = defineUpdate<AlertView, [VisitResultDecision], 'visitResult'>('visitResult');
export const transferUpdate = defineUpdate<AlertView, [TransferDecision], 'transfer'>('transfer');
export const cancelAlertUpdate = defineUpdate<AlertView, [CancelDecision], 'cancel'>('cancel');
export const platformUpdateSignal = defineSignal<[PlatformUpdate], 'platformUpdate'>('platformUpdate');
export const linkStopPaymentSignal = defineSignal<[{ stopPaymentId: string }], 'linkStopPayment'>('linkStopPayment');
export const alertStateQuery = defineQuery<AlertView>('state');

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

export const approveUpdate = defineUpdate<StopPaymentView, [ApproveDecision], 'approve'>('approve');
export const rejectUpdate = defineUpdate<StopPaymentView, [RejectDecision], 'reject'>('reject');
export const releaseCaseUpdate = defineUpdate<StopPaymentView, [ReleaseCaseDecision], 'release'>('release');
export const stopPaymentStateQuery = defineQuery<StopPaymentView>('state');
/** A hold tells its case what it is now. */
export const holdChangedSignal = defineSignal<[HoldView], 'holdChanged'>('holdChanged');
/** Accounts the money moved on to from a hold, `level` hops from the victim's transfers. */
export interface OnwardFound {
  parentHoldId: string;
  level: number;
  transfers: OnwardTransfer[];
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
