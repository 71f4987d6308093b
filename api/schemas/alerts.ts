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
import { ClientId, IsoTime, ListQuery, Phone, withExample } from './common.js';

const Note = Type.String({ minLength: 1, maxLength: 2000 });
const Reason = Type.String({ minLength: 1, maxLength: 500 });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const AlertInputSchema = withExample(
  Type.Object(
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
  ),
  {
    alertId: 'MPS-20261128-0001',
    source: 'ministry',
    issuedAt: '2026-11-28T09:12:00+08:00',
    riskLevel: 'high',
    fraudType: 'impersonating_customer_service',
    victim: { phone: '13812345678', name: '张某' },
    stationId: 'PS-XIHU',
    suspect: { phone: '+85265432100', app: 'Zoom' },
    note: 'received a call about a refund; screen-sharing app installed',
  },
);

export const IngestAnswerSchema = withExample(
  Type.Object(
    {
      alertId: Type.String(),
      workflowId: Type.String(),
      state: Type.Enum([...ALERT_STATES]),
      duplicate: Type.Optional(Type.Boolean()),
    },
    { description: 'The alert and its workflow (`duplicate` when it was pushed before)' },
  ),
  { alertId: 'MPS-20261128-0001', workflowId: 'alert-MPS-20261128-0001', state: 'queued' },
);

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

const summaryExample = {
  alertId: 'MPS-20261128-0001',
  workflowId: 'alert-MPS-20261128-0001',
  state: 'calling' as const,
  outcome: null,
  riskLevel: 'high' as const,
  fraudType: 'impersonating_customer_service' as const,
  stationId: 'PS-XIHU',
  source: 'ministry' as const,
  issuedAt: '2026-11-28T01:12:00.000Z',
  receivedAt: '2026-11-28T01:12:03.412Z',
  victim: { phone: '138****5678', name: '张某' },
  assignee: { userId: 'wang.jie', name: '王接线员' },
  callAttempts: 0,
  escalationLevel: 0,
  overdue: false,
  deadline: '2026-11-28T01:22:03.412Z',
  amountAtRiskFen: null,
  stopPaymentId: null,
  closedAt: null,
};

export const AlertSummarySchema = withExample(Type.Object(alertFields), summaryExample);
export const AlertDetailSchema = withExample(
  Type.Object(
    {
      ...alertFields,
      suspect: Nullable(Type.Object({}, { additionalProperties: true })),
      note: Nullable(Type.String()),
      /** Pushes of this alert after the first that raised nothing: counted, with the newest note (never a timeline entry each). */
      repeatedPushes: Type.Optional(
        Nullable(Type.Object({ count: Type.Integer(), lastReceivedAt: Type.String(), note: Nullable(Type.String()) })),
      ),
      timeline: Type.Array(TimelineEventSchema),
    },
    { description: 'The alert as you may see it, with its timeline' },
  ),
  {
    ...summaryExample,
    victim: { phone: '13812345678', name: '张某' },
    suspect: { phone: '+85265432100', app: 'Zoom' },
    note: 'received a call about a refund; screen-sharing app installed',
    repeatedPushes: null,
    timeline: [
      { at: '2026-11-28T01:12:03.412Z', kind: 'received', actor: null, detail: { riskLevel: 'high' } },
      {
        at: '2026-11-28T01:13:40.027Z',
        kind: 'claimed',
        actor: { userId: 'wang.jie', role: 'operator' },
        detail: {},
      },
    ],
  },
);

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

export const AlertParams = Type.Object({ alertId: { ...ClientId, examples: ['MPS-20261128-0001'] } });

export const ReleaseBody = withExample(Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }), {
  note: 'victim asked to be called after 14:00',
});

/** Flat on purpose: cross-field rules are checked in the route so each error names its field plainly. */
export const CallResultBody = withExample(
  Type.Object(
    {
      result: Type.Enum(['contacted', 'not_reached']),
      outcome: Type.Optional(Type.Enum([...CALL_OUTCOMES])),
      amountAtRiskFen: Type.Optional(
        Type.Integer({
          minimum: 0,
          maximum: 10_000_000_000_000,
          description: 'integer fen; 0 when nothing was at risk',
        }),
      ),
      reason: Type.Optional(Type.Enum([...NOT_REACHED_REASONS])),
      note: Type.Optional(Note),
    },
    { additionalProperties: false },
  ),
  { result: 'contacted', outcome: 'dissuaded', amountAtRiskFen: 5_000_000, note: 'stopped before the transfer' },
);

export const VisitResultBody = withExample(
  Type.Object({ outcome: Type.Enum([...VISIT_OUTCOMES]), note: Type.Optional(Note) }, { additionalProperties: false }),
  { outcome: 'dissuaded', note: 'visited at home with the community officer' },
);
export const TransferBody = withExample(
  Type.Object({ stationId: ClientId, reason: Reason }, { additionalProperties: false }),
  { stationId: 'PS-GONGSHU', reason: 'the victim is staying with family in Gongshu' },
);
export const CancelBody = withExample(Type.Object({ reason: Reason }, { additionalProperties: false }), {
  reason: 'pushed twice by the province under two IDs',
});
