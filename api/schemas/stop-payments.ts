import { Type } from 'typebox';
import { HOLD_STATES, STOP_PAYMENT_STATES } from '#domain/stop-payment.js';
import { TimelineEventSchema } from './alerts.js';
import { ClientId, ListQuery, withExample } from './common.js';
import { StopPaymentInputSchema as StopPaymentInputFields } from '#services/fields.js';

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

export { TransferSchema } from '#services/fields.js';

export const StopPaymentInputSchema = withExample(StopPaymentInputFields, {
  reportedAt: '2026-11-28T10:05:00+08:00',
  caseRef: '110-20261128-0456',
  alertId: 'MPS-20261128-0001',
  victim: { name: '张某', phone: '13812345678' },
  transfers: [
    {
      bank: 'ICBC',
      account: '6222020200112233445',
      accountName: '李某',
      amountFen: 5_000_000,
      transferredAt: '2026-11-28T09:40:00+08:00',
    },
  ],
});

export const FiledAnswerSchema = withExample(
  Type.Object(
    {
      stopPaymentId: Type.String(),
      workflowId: Type.String(),
      state: Type.Enum([...STOP_PAYMENT_STATES]),
    },
    { description: 'The case filed and its workflow' },
  ),
  {
    stopPaymentId: 'SP-20261128-k3J9xQ2mT0aB',
    workflowId: 'stoppay-SP-20261128-k3J9xQ2mT0aB',
    state: 'pending_approval',
  },
);

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

const summaryExample = {
  stopPaymentId: 'SP-20261128-k3J9xQ2mT0aB',
  workflowId: 'stoppay-SP-20261128-k3J9xQ2mT0aB',
  state: 'active' as const,
  createdBy: { userId: 'zhao.lei', name: '赵接警员' },
  approvedBy: { userId: 'qian.min', name: '钱审批' },
  reportedAt: '2026-11-28T02:05:00.000Z',
  createdAt: '2026-11-28T02:06:12.118Z',
  approvedAt: '2026-11-28T02:09:45.530Z',
  closedAt: null,
  deadline: null,
  escalationLevel: 0,
  major: false,
  requestedFen: 5_000_000,
  stoppedFen: 4_200_000,
  frozenFen: 0,
  caseRef: '110-20261128-0456',
  alertId: 'MPS-20261128-0001',
  victim: { name: '张某', phone: '138****5678' },
};

export const StopPaymentSummarySchema = withExample(Type.Object(caseFields), summaryExample);
export const StopPaymentDetailSchema = withExample(
  Type.Object(
    {
      ...caseFields,
      rejectedBy: Nullable(Person),
      rejectionReason: Nullable(Type.String()),
      firstStopAt: Nullable(Type.String()),
      holds: Type.Array(HoldSchema),
      timeline: Type.Array(TimelineEventSchema),
    },
    { description: 'The case as you may see it, with its holds and timeline' },
  ),
  {
    ...summaryExample,
    rejectedBy: null,
    rejectionReason: null,
    firstStopAt: '2026-11-28T02:09:47.902Z',
    holds: [
      {
        holdId: 'SP-20261128-k3J9xQ2mT0aB-1',
        level: 1,
        parentHoldId: null,
        bank: 'ICBC',
        account: '6222020200112233445',
        state: 'stopped',
        requestedFen: 5_000_000,
        stoppedFen: 4_200_000,
        frozenFen: 0,
        expiresAt: '2026-11-30T02:09:47.902Z',
        legalDocRef: null,
        restops: 0,
        renewals: 0,
        failure: null,
      },
    ],
    timeline: [
      {
        at: '2026-11-28T02:06:12.118Z',
        kind: 'filed',
        actor: { userId: 'zhao.lei', role: 'calltaker' },
        detail: { transfers: 1 },
      },
      {
        at: '2026-11-28T02:09:45.530Z',
        kind: 'approved',
        actor: { userId: 'qian.min', role: 'approver' },
        detail: {},
      },
    ],
  },
);

export const StopPaymentListQuery = Type.Object(
  { ...ListQuery, state: Type.Optional(Type.Enum([...STOP_PAYMENT_STATES])) },
  { additionalProperties: false },
);

const StopPaymentId = { ...ClientId, examples: ['SP-20261128-k3J9xQ2mT0aB'] };
export const StopPaymentParams = Type.Object({ stopPaymentId: StopPaymentId });
export const HoldParams = Type.Object({
  stopPaymentId: StopPaymentId,
  holdId: Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$', examples: ['SP-20261128-k3J9xQ2mT0aB-1'] }),
});

export const ApproveBody = withExample(Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }), {
  note: 'transfers match the bank records',
});
export const RejectBody = withExample(Type.Object({ reason: Reason }, { additionalProperties: false }), {
  reason: "the transfer was to the victim's own account",
});
export const RestopBody = withExample(Type.Object({ note: Type.Optional(Note) }, { additionalProperties: false }), {
  note: 'the criminal squad needs two more days',
});
export const FreezeBody = withExample(
  Type.Object({ legalDocRef: LegalDocRef, note: Type.Optional(Note) }, { additionalProperties: false }),
  { legalDocRef: '杭公(西)冻字〔2026〕0456号', note: 'case opened by the criminal squad' },
);
export const ReleaseBody = withExample(
  Type.Object(
    {
      reason: Reason,
      holdIds: Type.Optional(
        Type.Array(Type.String({ pattern: '^[A-Za-z0-9_-]{1,80}$' }), {
          minItems: 1,
          maxItems: 500,
          uniqueItems: true,
        }),
      ),
    },
    { additionalProperties: false },
  ),
  { reason: 'the money was returned to the victim', holdIds: ['SP-20261128-k3J9xQ2mT0aB-1'] },
);
