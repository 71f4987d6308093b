/** The alert (预警) as every part of the system sees it: plain types, no behaviour with side effects. */
import type { Role } from './roles.js';

export const ALERT_SOURCES = ['ministry', 'province', 'local'] as const;
export const RISK_LEVELS = ['high', 'medium', 'low'] as const;
export const FRAUD_TYPES = [
  'order_brushing',
  'investment',
  'fake_shopping',
  'impersonating_customer_service',
  'loan',
  'fake_credit_repair',
  'impersonating_acquaintance',
  'impersonating_officials',
  'romance',
  'game_trading',
  'gambling',
  'sextortion',
  'other',
] as const;
export const ALERT_STATES = ['queued', 'calling', 'retry_wait', 'visit_pending', 'closed'] as const;
export const ALERT_OUTCOMES = ['dissuaded', 'defrauded', 'false_positive', 'unreachable', 'cancelled'] as const;
export const CALL_OUTCOMES = ['dissuaded', 'false_positive', 'already_defrauded', 'refused'] as const;
export const NOT_REACHED_REASONS = ['no_answer', 'busy', 'powered_off', 'invalid_number'] as const;
export const VISIT_OUTCOMES = ['dissuaded', 'false_positive', 'already_defrauded', 'not_found'] as const;

export type AlertSource = (typeof ALERT_SOURCES)[number];
export type RiskLevel = (typeof RISK_LEVELS)[number];
export type FraudType = (typeof FRAUD_TYPES)[number];
export type AlertState = (typeof ALERT_STATES)[number];
export type AlertOutcome = (typeof ALERT_OUTCOMES)[number];
export type CallOutcome = (typeof CALL_OUTCOMES)[number];
export type NotReachedReason = (typeof NOT_REACHED_REASONS)[number];
export type VisitOutcome = (typeof VISIT_OUTCOMES)[number];

export const RISK_RANK: Record<RiskLevel, number> = { high: 0, medium: 1, low: 2 };

/** The actor as carried inside every decision, so the history itself says who decided. */
export interface DecisionActor {
  userId: string;
  name: string;
  role: Role;
}

export interface TimelineEvent {
  at: string;
  kind: string;
  actor: { userId: string; role: Role } | null;
  detail: Record<string, unknown>;
}

/**
 * A view as its workflow carries it — in projections, decision answers and its result: the steps
 * travel one at a time (each in one projection), never the whole timeline, so a history grows with its
 * steps and not with their square. Readers add the timeline back (read-model/current-view.ts).
 */
export type WithoutTimeline<V> = Omit<V, 'timeline'>;

/** Views recorded before steps travelled alone still carry their timeline: it is never read from there. */
export const withoutTimeline = <V>(view: V): WithoutTimeline<V> => {
  if (!view || typeof view !== 'object' || !('timeline' in view)) return view;
  const { timeline: _timeline, ...rest } = view as V & { timeline: unknown };
  return rest as WithoutTimeline<V>;
};

/** What the platform pushes (POST /v1/alerts). */
export interface AlertInput {
  alertId: string;
  source: AlertSource;
  issuedAt: string;
  riskLevel: RiskLevel;
  fraudType: FraudType;
  victim: { phone: string; name?: string };
  stationId: string;
  suspect?: { phone?: string; url?: string; app?: string; account?: string };
  note?: string;
}

/** Everything GET /v1/alerts/:alertId returns (before masking). */
export interface AlertView {
  alertId: string;
  workflowId: string;
  state: AlertState;
  outcome: AlertOutcome | null;
  riskLevel: RiskLevel;
  fraudType: FraudType;
  stationId: string;
  source: AlertSource;
  issuedAt: string;
  receivedAt: string;
  victim: { phone: string; name: string | null };
  suspect: NonNullable<AlertInput['suspect']> | null;
  note: string | null;
  assignee: { userId: string; name: string } | null;
  callAttempts: number;
  escalationLevel: number;
  overdue: boolean;
  deadline: string | null;
  amountAtRiskFen: number | null;
  stopPaymentId: string | null;
  firstCallAt: string | null;
  closedAt: string | null;
  /**
   * Pushes after the first that raised nothing, coalesced: how many, when the newest came, its note
   * (bounded like any push's). Absent from alerts started before pushes were coalesced.
   */
  repeatedPushes?: { count: number; lastReceivedAt: string; note: string | null } | null;
  timeline: TimelineEvent[];
}

export const alertWorkflowId = (alertId: string) => `alert-${alertId}`;

/** `138****5678`: personal data stays with those who need it (DESIGN.md §8). */
export const maskPhone = (phone: string) => (phone.length >= 7 ? `${phone.slice(0, 3)}****${phone.slice(-4)}` : '****');
