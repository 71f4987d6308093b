import { Type } from 'typebox';
import {
  ALERT_OUTCOMES,
  ALERT_SOURCES,
  ALERT_STATES,
  CALL_OUTCOMES,
  FRAUD_TYPES,
  NOT_REACHED_REASONS,
  RISK_LEVELS,
  VISIT_OUTCOMES,
} from '#domain/alert.js';
import { ROLES } from '#domain/roles.js';
import { ClientId, IsoTime, ListQuery, Phone } from './common.js';

const Note = Type.String({ minLength: 1, maxLength: 2000 });
const Reason = Type.String({ minLength: 1, maxLength: 500 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const AlertInputSchema = Type.Object(
  {
    alertId: ClientId,
    source: Type.Enum([...ALERT_SOURCES]),
    issuedAt: IsoTime,
    riskLevel: Type.Enum([...RISK_LEVELS]),
    fraudType: Type.Enum([...FRAUD_TYPES]),
    victim: Type.Object(
      { phone: Phone, name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
      { additionalProperties: false },
    ),
    stationId: ClientId,
    suspect: Type.Optional(
      Type.Object(
        {
          phone: Type.Optional(Type.String({ minLength: 1, maxLength: 32 })),
          url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
          app: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          account: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
        },
        { additionalProperties: false },
      ),
    ),
    note: Type.Optional(Type.String({ maxLength: 2000 })),
  },
  { additionalProperties: false },
);

export const IngestAnswerSchema = Type.Object({
  alertId: Type.String(),
  workflowId: Type.String(),
  state: Type.Enum([...ALERT_STATES]),
  duplicate: Type.Optional(Type.Boolean()),
});

const alertFields = {
  alertId: Type.String(),
  workflowId: Type.String(),
  state: Type.Enum([...ALERT_STATES]),
  outcome: Nullable(Type.Enum([...ALERT_OUTCOMES])),
  riskLevel: Type.Enum([...RISK_LEVELS]),
  fraudType: Type.Enum([...FRAUD_TYPES]),
  stationId: Type.String(),
  source: Type.Enum([...ALERT_SOURCES]),
  issuedAt: Type.String(),
  receivedAt: Type.String(),
  victim: Type.Object({
    phone: Type.String({ description: 'masked unless you are the assignee or the station officer' }),
    name: Nullable(Type.String()),
  }),
  assignee: Nullable(Type.Object({ userId: Type.String(), name: Type.String() })),
  callAttempts: Type.Integer(),
  escalationLevel: Type.Integer(),
  overdue: Type.Boolean(),
  deadline: Nullable(Type.String()),
  amountAtRiskFen: Nullable(Type.Integer()),
  stopPaymentId: Nullable(Type.String()),
  closedAt: Nullable(Type.String()),
};

export const TimelineEventSchema = Type.Object({
  at: Type.String(),
  kind: Type.String(),
  actor: Nullable(Type.Object({ userId: Type.String(), role: Type.Enum([...ROLES]) })),
  detail: Type.Object({}, { additionalProperties: true }),
});

export const AlertSummarySchema = Type.Object(alertFields);
export const AlertDetailSchema = Type.Object({
  ...alertFields,
  suspect: Nullable(Type.Object({}, { additionalProperties: true })),
  note: Nullable(Type.String()),
  /** Pushes of this alert after the first that raised nothing: counted, with the newest note (never a timeline entry each). */
  repeatedPushes: Type.Optional(
    Nullable(Type.Object({ count: Type.Integer(), lastReceivedAt: Type.String(), note: Nullable(Type.String()) })),
  ),
  timeline: Type.Array(TimelineEventSchema),
});

export const AlertListQuery = Type.Object(
  {
    ...ListQuery,
    state: Type.Optional(Type.Enum([...ALERT_STATES])),
    riskLevel: Type.Optional(Type.Enum([...RISK_LEVELS])),
    stationId: Type.Optional(ClientId),
    overdue: Type.Optional(Type.Boolean()),
    fraudType: Type.Optional(Type.Enum([...FRAUD_TYPES])),
    outcome: Type.Optional(Type.Enum([...ALERT_OUTCOMES])),
  },
  { additionalProperties: false },
);

export const AlertParams = Type.Object({ alertId: ClientId });

export const ReleaseBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });

/** Flat on purpose: cross-field rules are checked in the route so each error names its field plainly. */
export const CallResultBody = Type.Object(
  {
    result: Type.Enum(['contacted', 'not_reached']),
    outcome: Type.Optional(Type.Enum([...CALL_OUTCOMES])),
    amountAtRiskFen: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 10_000_000_000_000, description: 'integer fen; 0 when nothing was at risk' }),
    ),
    reason: Type.Optional(Type.Enum([...NOT_REACHED_REASONS])),
    note: Type.Optional(Note),
  },
  { additionalProperties: false },
);

export const VisitResultBody = Type.Object(
  { outcome: Type.Enum([...VISIT_OUTCOMES]), note: Type.Optional(Note) },
  { additionalProperties: false },
);
export const TransferBody = Type.Object({ stationId: ClientId, reason: Reason }, { additionalProperties: false });
export const CancelBody = Type.Object({ reason: Reason }, { additionalProperties: false });
