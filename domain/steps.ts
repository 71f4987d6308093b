/**
 * The steps each workflow records in its timeline (`TimelineEvent.kind`), one list per workflow type.
 * The workflows' recorders only accept their own kinds, and whoever words a timeline can key a
 * `Record<…StepKind, …>` on them so that the compiler finds a kind left out.
 */

export const ALERT_STEP_KINDS = [
  'received',
  'claimed',
  'released',
  'call_result',
  'retry_scheduled',
  'requeued',
  'visit_requested',
  'visit_result',
  'transferred',
  'deadline_missed',
  'platform_update',
  'stop_payment_linked',
  'closed',
] as const;

export const STOP_PAYMENT_STEP_KINDS = [
  'filed',
  'major_case',
  'deadline_missed',
  'approved',
  'holds_started',
  'rejected',
  'release_ordered',
  'hold_changed',
  'onward_found',
  'holds_limited',
  'closed',
] as const;

/** `stopped`, `empty`, `failed`, `lapsed` and `expired` are also the hold's state after the step. */
export const HOLD_STEP_KINDS = [
  'stop_requested',
  'bank_answered',
  'bank_refused',
  'stopped',
  'empty',
  'failed',
  'restopped',
  'freeze_requested',
  'frozen',
  'renewed',
  'expiry_reminder',
  'lapsed',
  'expired',
  'released',
] as const;

export type AlertStepKind = (typeof ALERT_STEP_KINDS)[number];
export type StopPaymentStepKind = (typeof STOP_PAYMENT_STEP_KINDS)[number];
export type HoldStepKind = (typeof HOLD_STEP_KINDS)[number];
/** Any workflow's step. */
export type StepKind = AlertStepKind | StopPaymentStepKind | HoldStepKind;
