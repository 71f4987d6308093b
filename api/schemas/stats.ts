import { Type } from 'typebox';
import { IsoTime, withExample } from './common.js';

const Duration = Type.Object(
  { median: Type.Union([Type.Number(), Type.Null()]), p90: Type.Union([Type.Number(), Type.Null()]) },
  { description: 'seconds' },
);
const Breakdown = Type.Array(
  Type.Object({
    key: Type.String(),
    received: Type.Integer(),
    dissuaded: Type.Integer(),
    preventedLossFen: Type.Integer(),
  }),
);

export const StatsQuery = Type.Object(
  {
    from: Type.Optional(IsoTime),
    to: Type.Optional(IsoTime),
  },
  { additionalProperties: false },
);

export const StatsSchema = withExample(
  Type.Object(
    {
      from: Type.String(),
      to: Type.String(),
      alerts: Type.Object({
        received: Type.Integer(),
        closed: Type.Integer(),
        closedByOutcome: Type.Record(Type.String(), Type.Integer()),
        dissuaded: Type.Integer(),
        preventedLossFen: Type.Integer(),
        deadlineBreaches: Type.Record(Type.String(), Type.Integer()),
        receiptToFirstCallSeconds: Duration,
        receiptToCloseSeconds: Duration,
        previousPeriodReceived: Type.Integer(),
        receivedChangePercent: Type.Union([Type.Number(), Type.Null()], {
          description: 'against the previous period of the same length; null when it had none',
        }),
      }),
      stopPayments: Type.Object({
        requested: Type.Integer(),
        approved: Type.Integer(),
        rejected: Type.Integer(),
        majorCases: Type.Integer(),
        requestedFen: Type.Integer(),
        stoppedFen: Type.Integer(),
        frozenFen: Type.Integer(),
        reportToApprovalSeconds: Duration,
        reportToFirstStopSeconds: Duration,
      }),
      breakdown: Type.Object({ byFraudType: Breakdown, byStation: Breakdown, byRiskLevel: Breakdown }),
    },
    { description: 'The center in numbers for the period' },
  ),
  {
    from: '2026-11-27T16:00:00.000Z',
    to: '2026-11-28T16:00:00.000Z',
    alerts: {
      received: 212,
      closed: 198,
      closedByOutcome: { dissuaded: 151, false_positive: 22, unreachable: 19, defrauded: 6 },
      dissuaded: 151,
      preventedLossFen: 386_500_000,
      deadlineBreaches: { claim: 4, visit: 1 },
      receiptToFirstCallSeconds: { median: 95, p90: 410 },
      receiptToCloseSeconds: { median: 1260, p90: 5400 },
      previousPeriodReceived: 187,
      receivedChangePercent: 13.4,
    },
    stopPayments: {
      requested: 9,
      approved: 8,
      rejected: 1,
      majorCases: 1,
      requestedFen: 123_000_000,
      stoppedFen: 87_400_000,
      frozenFen: 52_000_000,
      reportToApprovalSeconds: { median: 240, p90: 600 },
      reportToFirstStopSeconds: { median: 300, p90: 720 },
    },
    breakdown: {
      byFraudType: [{ key: 'investment', received: 48, dissuaded: 35, preventedLossFen: 120_000_000 }],
      byStation: [{ key: 'PS-XIHU', received: 31, dissuaded: 24, preventedLossFen: 56_000_000 }],
      byRiskLevel: [{ key: 'high', received: 64, dissuaded: 47, preventedLossFen: 250_000_000 }],
    },
  },
);

export const NotificationSchema = withExample(
  Type.Object({
    id: Type.Integer(),
    recipientRole: Type.String(),
    kind: Type.String(),
    caseType: Type.String(),
    caseId: Type.String(),
    workflowId: Type.String(),
    message: Type.String(),
    createdAt: Type.String(),
    deliveredAt: Type.Union([Type.String(), Type.Null()]),
    deliveredVia: Type.Union([Type.String(), Type.Null()]),
    attempts: Type.Integer(),
    lastError: Type.Union([Type.String(), Type.Null()]),
    acknowledgedAt: Type.Union([Type.String(), Type.Null()], { description: 'an escalation a supervisor took on' }),
    acknowledgedBy: Type.Union([Type.String(), Type.Null()]),
  }),
  {
    id: 42,
    recipientRole: 'supervisor',
    kind: 'alert_overdue',
    caseType: 'alert',
    caseId: 'MPS-20261128-0001',
    workflowId: 'alert-MPS-20261128-0001',
    message:
      'Alert MPS-20261128-0001 (high risk, station PS-XIHU): claim deadline 2026-11-28T01:22:03.412Z missed, escalation level 1.',
    createdAt: '2026-11-28T01:22:03.502Z',
    deliveredAt: '2026-11-28T01:22:04.118Z',
    deliveredVia: 'webhook',
    attempts: 1,
    lastError: null,
    acknowledgedAt: null,
    acknowledgedBy: null,
  },
);

export const AcknowledgementSchema = withExample(
  Type.Object(
    {
      id: Type.Integer(),
      acknowledgedAt: Type.String(),
      acknowledgedBy: Type.String({
        description: 'the first supervisor to acknowledge it; a later one changes nothing',
      }),
    },
    { description: 'The escalation, acknowledged' },
  ),
  { id: 42, acknowledgedAt: '2026-11-28T01:23:10.000Z', acknowledgedBy: 'zhou.qiang' },
);
