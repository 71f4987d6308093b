import { Type } from 'typebox';
import { HOLD_STATES, STOP_PAYMENT_STATES } from '#domain/stop-payment.js';
import { TimelineEventSchema } from './alerts.js';
import { ClientId, ListQuery } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Note = Type.String({ minLength: 1, maxLength: 2000 });
const Reason = Type.String({ minLength: 1, maxLength: 500, pattern: '\\S' });
const LegalDocRef = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '\\S',
  description: 'reference of the legal document (e.g. 冻结通知书 number)',
});
const Person = Type.Object({ userId: Type.String(), name: Type.String() });

export { StopPaymentInputSchema, TransferSchema } from '#services/fields.js';

export const FiledAnswerSchema = Type.Object({
  stopPaymentId: Type.String(),
  workflowId: Type.String(),
  state: Type.Enum([...STOP_PAYMENT_STATES]),
});

export const HoldSchema = Type.Object({
  holdId: Type.String(),
  level: Type.Integer(),
  parentHoldId: Nullable(Type.String()),
  bank: Type.String(),
  account: Type.String(),
  state: Type.Enum([...HOLD_STATES]),
  requestedFen: Type.Integer(),
  stoppedFen: Type.Integer(),
  frozenFen: Type.Integer(),
  expiresAt: Nullable(Type.String()),
  legalDocRef: Nullable(Type.String()),
  restops: Type.Integer(),
  renewals: Type.Integer(),
  failure: Nullable(Type.String()),
});

const caseFields = {
  stopPaymentId: Type.String(),
  workflowId: Type.String(),
  state: Type.Enum([...STOP_PAYMENT_STATES]),
  createdBy: Person,
  approvedBy: Nullable(Person),
  reportedAt: Type.String(),
  createdAt: Type.String(),
  approvedAt: Nullable(Type.String()),
  closedAt: Nullable(Type.String()),
  deadline: Nullable(Type.String()),
  escalationLevel: Type.Integer(),
  major: Type.Boolean(),
  requestedFen: Type.Integer(),
  stoppedFen: Type.Integer(),
  frozenFen: Type.Integer(),
  caseRef: Nullable(Type.String()),
  alertId: Nullable(Type.String()),
  victim: Type.Object({
    name: Type.String(),
    phone: Type.String({ description: 'masked except for the call-taker who filed the case' }),
  }),
};

export const StopPaymentSummarySchema = Type.Object(caseFields);
export const StopPaymentDetailSchema = Type.Object({
  ...caseFields,
  rejectedBy: Nullable(Person),
  rejectionReason: Nullable(Type.String()),
  firstStopAt: Nullable(Type.String()),
  holds: Type.Array(HoldSchema),
  timeline: Type.Array(TimelineEventSchema),
});

export const StopPaymentListQuery = Type.Object(
  { ...ListQuery, state: Type.Optional(Type.Enum([...STOP_PAYMENT_STATES])) },
  { additionalProperties: false },
);

export const StopPaymentParams = Type.Object({ stopPaymentId: ClientId });
export const HoldParams = Type.Object({
  stopPaymentId: ClientId,
  holdId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$' }),
});

export const ApproveBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export const RejectBody = Type.Object({ reason: Reason }, { additionalProperties: false });
export const RestopBody = Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false });
export const FreezeBody = Type.Object(
  { legalDocRef: LegalDocRef, note: Type.Optional(Note) },
  { additionalProperties: false },
);
export const ReleaseBody = Type.Object(
  {
    reason: Reason,
    holdIds: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$' }), { minItems: 1, maxItems: 500, uniqueItems: true }),
    ),
  },
  { additionalProperties: false },
);
