import { Type } from 'typebox';
import { ADMIN_ACTIONS } from '#db/users.js';
import { AUDIT_ACTIONS } from '#services/audit.js';
import { ListQuery, withExample } from './common.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

/** Temporal workflow IDs: ours (alert-…, stoppay-…, hold-…) and those a schedule starts (…-2026-11-28T09:00:00Z). */
export const WorkflowIdSchema = Type.String({
  pattern: '^[A-Za-z0-9_.:@=+-]{1,255}$',
  description: 'a Temporal workflow ID, e.g. alert-MPS-20261128-0001',
  examples: ['alert-MPS-20261128-0001'],
});
export const RunIdSchema = Type.String({ pattern: '^[A-Za-z0-9-]{1,64}$', description: 'a Temporal run ID' });
const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });

export const AuditWorkflowParams = Type.Object({ workflowId: WorkflowIdSchema });
export const RunQuery = Type.Object({ runId: Type.Optional(RunIdSchema) }, { additionalProperties: false });
/** Which run to replay; the newest when absent. */
export const ReplayBody = withExample(
  Type.Object({ runId: Type.Optional(RunIdSchema) }, { additionalProperties: false }),
  { runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b' },
);

const ActorSchema = Type.Object({ userId: Type.String(), name: Type.Optional(Type.String()), role: Type.String() });

export const TimelineEntrySchema = Type.Object({
  eventId: Type.Integer({
    description: 'the history event this entry comes from (one event can give several entries)',
  }),
  runId: Type.String(),
  at: Type.String({ description: 'ISO-8601 UTC' }),
  kind: Type.String({
    description:
      'engine events: workflow_started, update_accepted, update_completed, signal_received, signal_sent, timer_started, timer_fired, bank_instruction, bank_answer, child_workflow_started, workflow_completed, workflow_continued_as_new, …; steps the workflow recorded: received, claimed, deadline_missed, closed, frozen, …',
  }),
  actor: Type.Optional(ActorSchema),
  summary: Type.String(),
  detail: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

const RunSchema = Type.Object({
  runId: Type.String(),
  status: Type.String(),
  startedAt: Nullable(Type.String()),
  closedAt: Nullable(Type.String()),
  source: Type.Enum(['temporal', 'archive']),
  events: Type.Integer(),
});

export const TimelineSchema = withExample(
  Type.Object(
    {
      workflowId: Type.String(),
      runId: Type.String({ description: 'the newest run' }),
      workflowType: Type.String(),
      status: Type.String({
        description: 'of the newest run: RUNNING, COMPLETED, CONTINUED_AS_NEW, FAILED, TERMINATED, …',
      }),
      runs: Type.Array(RunSchema, { description: 'every run of the continue-as-new chain, oldest first' }),
      missingRunId: Nullable(
        Type.String({ description: 'a run the chain continued from that neither Temporal nor the archive has' }),
      ),
      events: Type.Array(TimelineEntrySchema),
    },
    { description: 'The history as a person reads it' },
  ),
  {
    workflowId: 'alert-MPS-20261128-0001',
    runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
    workflowType: 'AlertWorkflow',
    status: 'COMPLETED',
    runs: [
      {
        runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
        status: 'COMPLETED',
        startedAt: '2026-11-28T01:12:03.412Z',
        closedAt: '2026-11-28T01:31:18.250Z',
        source: 'temporal',
        events: 42,
      },
    ],
    missingRunId: null,
    events: [
      {
        eventId: 1,
        runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
        at: '2026-11-28T01:12:03.412Z',
        kind: 'workflow_started',
        summary: 'Alert MPS-20261128-0001 received (high risk, station PS-XIHU)',
      },
      {
        eventId: 17,
        runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
        at: '2026-11-28T01:13:40.027Z',
        kind: 'claimed',
        actor: { userId: 'wang.jie', name: '王接线员', role: 'operator' },
        summary: '王接线员 claimed the alert',
      },
    ],
  },
);

export const HistorySchema = withExample(
  Type.Object(
    { events: Type.Array(Type.Object({}, { additionalProperties: true })) },
    {
      additionalProperties: true,
      description: 'temporal.api.history.v1.History as proto3 JSON (`temporal workflow show --output json`)',
    },
  ),
  {
    events: [
      {
        eventId: '1',
        eventTime: '2026-11-28T01:12:03.412Z',
        eventType: 'EVENT_TYPE_WORKFLOW_EXECUTION_STARTED',
        workflowExecutionStartedEventAttributes: { workflowType: { name: 'AlertWorkflow' } },
      },
    ],
  },
);

export const ReplaySchema = withExample(
  Type.Object(
    {
      workflowId: Type.String(),
      runId: Type.String(),
      workflowType: Type.String(),
      source: Type.Enum(['temporal', 'archive']),
      events: Type.Integer({ description: 'history events replayed' }),
      deterministic: Type.Boolean(),
      error: Type.Optional(Type.String({ description: 'why the current code does not reproduce the history' })),
    },
    { description: 'Whether the workflow code in use reproduces the history' },
  ),
  {
    workflowId: 'alert-MPS-20261128-0001',
    runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
    workflowType: 'AlertWorkflow',
    source: 'temporal',
    events: 42,
    deterministic: true,
  },
);

export const ArchiveQuery = Type.Object(
  {
    ...ListQuery,
    workflowId: Type.Optional(WorkflowIdSchema),
    workflowType: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_]{1,100}$' })),
  },
  { additionalProperties: false },
);

export const ArchiveRecordSchema = withExample(
  Type.Object({
    id: Type.String({ description: 'archive record ID (what verify names in brokenAt)' }),
    workflowId: Type.String(),
    runId: Type.String(),
    workflowType: Type.String(),
    status: Type.String(),
    closedAt: Type.String(),
    archivedAt: Type.String(),
    sha256: Sha256,
    prevSha256: Nullable(Sha256),
  }),
  {
    id: '1842',
    workflowId: 'alert-MPS-20261128-0001',
    runId: '0193b2c4-5d6e-7f80-9a1b-2c3d4e5f6a7b',
    workflowType: 'AlertWorkflow',
    status: 'COMPLETED',
    closedAt: '2026-11-28T01:31:18.250Z',
    archivedAt: '2026-11-28T01:32:00.104Z',
    sha256: '9f2c4e1a7b3d5f60812a4c6e8b0d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c2e4b6d',
    prevSha256: '3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f5a7c9e1b3d5f7a9c1e3b5d',
  },
);

export const VerifySchema = withExample(
  Type.Object(
    {
      ok: Type.Boolean(),
      records: Type.Integer({ description: 'records in the archive' }),
      brokenAt: Type.Optional(
        Type.String({ description: 'the first record that was altered, or whose predecessor was deleted or moved' }),
      ),
      reason: Type.Optional(Type.String({ description: 'why the archive does not verify, in words' })),
      anchoredAt: Type.Optional(
        Nullable(Type.String({ description: "the record Temporal's newest archiver run anchored as the head" })),
      ),
    },
    { description: "The archive's hash chain, checked" },
  ),
  { ok: true, records: 1842, anchoredAt: '1842' },
);

export const AccessLogQuery = Type.Object(
  {
    ...ListQuery,
    userId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    workflowId: Type.Optional(WorkflowIdSchema),
    action: Type.Optional(Type.Enum([...AUDIT_ACTIONS])),
  },
  { additionalProperties: false },
);

export const AccessLogEntrySchema = withExample(
  Type.Object({
    id: Type.String(),
    at: Type.String(),
    userId: Type.String(),
    userName: Nullable(Type.String()),
    action: Type.String(),
    workflowId: Nullable(Type.String()),
    subject: Nullable(Type.String({ description: 'what a search looked for: an account, or a phone (masked)' })),
  }),
  {
    id: '5310',
    at: '2026-11-28T03:02:11.640Z',
    userId: 'sun.li',
    userName: '孙审计',
    action: 'timeline',
    workflowId: 'alert-MPS-20261128-0001',
    subject: null,
  },
);

export const AdminLogQuery = Type.Object(
  { ...ListQuery, targetUserId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) },
  { additionalProperties: false },
);

export const AdminLogEntrySchema = withExample(
  Type.Object({
    id: Type.String(),
    at: Type.String(),
    actorUserId: Type.String({
      description: 'an admin, (bootstrap) for FANZHA_ADMIN_TOKEN, (command line) for npm run admin',
    }),
    action: Type.Enum([...ADMIN_ACTIONS]),
    targetUserId: Type.String(),
    detail: Type.Record(Type.String(), Type.Unknown()),
  }),
  {
    id: '77',
    at: '2026-11-20T08:30:00.000Z',
    actorUserId: 'admin',
    action: 'user_created',
    targetUserId: 'wang.jie',
    detail: { roles: ['operator'] },
  },
);
