import { Type } from 'typebox';
import { IsoTime } from './common.js';

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

export const StatsSchema = Type.Object({
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
});

export const NotificationSchema = Type.Object({
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
});

export const AcknowledgementSchema = Type.Object({
  id: Type.Integer(),
  acknowledgedAt: Type.String(),
  acknowledgedBy: Type.String({ description: 'the first supervisor to acknowledge it; a later one changes nothing' }),
});
