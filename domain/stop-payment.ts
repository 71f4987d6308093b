/** The stop-payment case (紧急止付) and its holds, as every part of the system sees them. */
import type { DecisionActor, TimelineEvent } from './alert.js';

export const STOP_PAYMENT_STATES = ['pending_approval', 'rejected', 'active', 'closed'] as const;
export const HOLD_STATES = [
  'submitting',
  'stopped',
  'freezing',
  'frozen',
  'lapsed',
  'expired',
  'released',
  'failed',
  'empty',
] as const;
export const FINAL_HOLD_STATES = ['lapsed', 'expired', 'released', 'failed', 'empty'] as const;

export type StopPaymentState = (typeof STOP_PAYMENT_STATES)[number];
export type HoldState = (typeof HOLD_STATES)[number];

export const isFinalHold = (state: HoldState) => (FINAL_HOLD_STATES as readonly string[]).includes(state);

export interface TransferInput {
  bank: string;
  account: string;
  accountName?: string;
  amountFen: number;
  transferredAt: string;
}

/** What the 110 call-taker files (POST /v1/stop-payments). */
export interface StopPaymentInput {
  reportedAt: string;
  caseRef?: string;
  alertId?: string;
  victim: { name: string; phone: string };
  transfers: TransferInput[];
}

export interface HoldView {
  holdId: string;
  workflowId: string;
  level: number;
  parentHoldId: string | null;
  bank: string;
  account: string;
  state: HoldState;
  requestedFen: number;
  stoppedFen: number;
  frozenFen: number;
  expiresAt: string | null;
  legalDocRef: string | null;
  restops: number;
  renewals: number;
  stoppedAt: string | null;
  /** Why a hold failed, when it did. */
  failure: string | null;
}

export interface StopPaymentView {
  stopPaymentId: string;
  workflowId: string;
  state: StopPaymentState;
  createdBy: { userId: string; name: string };
  approvedBy: { userId: string; name: string } | null;
  rejectedBy: { userId: string; name: string } | null;
  rejectionReason: string | null;
  reportedAt: string;
  createdAt: string;
  approvedAt: string | null;
  firstStopAt: string | null;
  closedAt: string | null;
  deadline: string | null;
  escalationLevel: number;
  major: boolean;
  requestedFen: number;
  stoppedFen: number;
  frozenFen: number;
  caseRef: string | null;
  alertId: string | null;
  victim: { name: string; phone: string };
  transfers: TransferInput[];
  holds: HoldView[];
  timeline: TimelineEvent[];
}

export type { DecisionActor };

export const stopPaymentWorkflowId = (stopPaymentId: string) => `stoppay-${stopPaymentId}`;
export const holdWorkflowId = (holdId: string) => `hold-${holdId}`;
/** Holds are numbered in the order the case finds the accounts: `<case>-1`, `<case>-2`, … */
export const holdIdFor = (stopPaymentId: string, n: number) => `${stopPaymentId}-${n}`;
