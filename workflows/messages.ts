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
/** A repeated push of the same alert by the platform. */
export interface PlatformUpdate {
  riskLevel: RiskLevel;
  receivedAt: string;
  note?: string;
}

export const claimUpdate = defineUpdate<AlertView, [ClaimDecision]>('claim');
export const releaseUpdate = defineUpdate<AlertView, [ReleaseDecision]>('release');
export const callResultUpdate = defineUpdate<AlertView, [CallResultDecision]>('callResult');
export const visitResultUpdate = defineUpdate<AlertView, [VisitResultDecision]>('visitResult');
export const transferUpdate = defineUpdate<AlertView, [TransferDecision]>('transfer');
export const cancelAlertUpdate = defineUpdate<AlertView, [CancelDecision]>('cancel');
export const platformUpdateSignal = defineSignal<[PlatformUpdate]>('platformUpdate');
export const linkStopPaymentSignal = defineSignal<[{ stopPaymentId: string }]>('linkStopPayment');
export const alertStateQuery = defineQuery<AlertView>('state');
