/**
 * PostgreSQL holds what Temporal should not: users and hashed tokens, the read model (written only
 * by activities, idempotently), the notification outbox and the audit archive.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const at = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });
const fen = (name: string) => bigint(name, { mode: 'number' });

export const users = pgTable('users', {
  userId: text('user_id').primaryKey(),
  name: text('name').notNull(),
  roles: text('roles').array().notNull(),
  stationId: text('station_id'),
  createdAt: at('created_at').notNull().defaultNow(),
  /** A disabled user's tokens, password and sessions stop working at once; an admin may enable them again. */
  disabledAt: at('disabled_at'),
  disabledBy: text('disabled_by'),
});

export const apiTokens = pgTable(
  'api_tokens',
  {
    tokenId: text('token_id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    label: text('label'),
    /** SHA-256 of the token; the token itself is shown once and never stored. */
    tokenHash: text('token_hash').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    revokedAt: at('revoked_at'),
    /** The admin who issued it (`(bootstrap)` for FANZHA_ADMIN_TOKEN); null for tokens older than this column. */
    issuedBy: text('issued_by'),
  },
  (t) => [uniqueIndex('api_tokens_hash_idx').on(t.tokenHash), index('api_tokens_user_idx').on(t.userId)],
);

/**
 * Every privileged act, append-only (a trigger refuses UPDATE and DELETE): who created or changed a
 * user, issued or revoked a token, issued an enrollment link or reset a password, disabled or enabled a
 * user — and when. Auditors read it; nobody edits it.
 */
export const adminLog = pgTable(
  'admin_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: at('at').notNull().defaultNow(),
    actorUserId: text('actor_user_id').notNull(),
    action: text('action').notNull(),
    targetUserId: text('target_user_id').notNull(),
    detail: jsonb('detail')
      .notNull()
      .default(sql`'{}'::jsonb`),
  },
  (t) => [index('admin_log_at_idx').on(t.at), index('admin_log_target_idx').on(t.targetUserId, t.id)],
);

/** One answer per (user, Idempotency-Key): a retried POST repeats it and has no second effect. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    userId: text('user_id').notNull(),
    key: text('key').notNull(),
    requestHash: text('request_hash').notNull(),
    statusCode: smallint('status_code'),
    response: jsonb('response'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.key] })],
);

/** Read model of alerts: one row per alert, always the state after the newest projected step. */
export const alerts = pgTable(
  'alerts',
  {
    alertId: text('alert_id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    state: text('state').notNull(),
    outcome: text('outcome'),
    riskLevel: text('risk_level').notNull(),
    /** 0 = high, 1 = medium, 2 = low: sorts the queue. */
    riskRank: smallint('risk_rank').notNull(),
    fraudType: text('fraud_type').notNull(),
    stationId: text('station_id').notNull(),
    source: text('source').notNull(),
    issuedAt: at('issued_at').notNull(),
    receivedAt: at('received_at').notNull(),
    victimPhone: text('victim_phone').notNull(),
    victimName: text('victim_name'),
    assigneeId: text('assignee_id'),
    assigneeName: text('assignee_name'),
    callAttempts: smallint('call_attempts').notNull().default(0),
    escalationLevel: smallint('escalation_level').notNull().default(0),
    overdue: boolean('overdue').notNull().default(false),
    deadline: at('deadline'),
    amountAtRiskFen: fen('amount_at_risk_fen'),
    stopPaymentId: text('stop_payment_id'),
    firstCallAt: at('first_call_at'),
    closedAt: at('closed_at'),
    /** Sequence number of the newest step projected: an older, retried projection never overwrites a newer one. */
    seq: integer('seq').notNull(),
    detail: jsonb('detail').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('alerts_queue_idx').on(t.state, t.deadline, t.riskRank, t.receivedAt),
    // The queue in the order operators work it (no deadline last): the first page without sorting every open alert.
    index('alerts_queue_order_idx').on(
      t.state,
      sql`coalesce(${t.deadline}, 'infinity'::timestamptz)`,
      t.riskRank,
      t.receivedAt,
      t.alertId,
    ),
    index('alerts_station_idx').on(t.stationId, t.state),
    // The statistics read only these columns by period: answered from the index alone (a year of a
    // city, 300,000 alerts, without touching the wide rows and their detail documents).
    index('alerts_received_stats_idx').on(
      t.receivedAt,
      t.outcome,
      t.riskLevel,
      t.fraudType,
      t.stationId,
      t.amountAtRiskFen,
      t.firstCallAt,
      t.closedAt,
    ),
    index('alerts_closed_stats_idx').on(t.closedAt, t.outcome, t.amountAtRiskFen),
    // "Has this person been warned before?"
    index('alerts_victim_phone_idx').on(t.victimPhone, t.receivedAt),
  ],
);

/** Read model of stop-payment cases. */
export const stopPayments = pgTable(
  'stop_payments',
  {
    stopPaymentId: text('stop_payment_id').primaryKey(),
    workflowId: text('workflow_id').notNull(),
    state: text('state').notNull(),
    createdById: text('created_by_id').notNull(),
    createdByName: text('created_by_name').notNull(),
    approvedById: text('approved_by_id'),
    approvedByName: text('approved_by_name'),
    reportedAt: at('reported_at').notNull(),
    createdAt: at('created_at').notNull(),
    approvedAt: at('approved_at'),
    rejectedAt: at('rejected_at'),
    firstStopAt: at('first_stop_at'),
    closedAt: at('closed_at'),
    deadline: at('deadline'),
    escalationLevel: smallint('escalation_level').notNull().default(0),
    major: boolean('major').notNull().default(false),
    requestedFen: fen('requested_fen').notNull().default(0),
    stoppedFen: fen('stopped_fen').notNull().default(0),
    frozenFen: fen('frozen_fen').notNull().default(0),
    alertId: text('alert_id'),
    caseRef: text('case_ref'),
    victimPhone: text('victim_phone').notNull(),
    victimName: text('victim_name'),
    seq: integer('seq').notNull(),
    detail: jsonb('detail').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('stop_payments_state_idx').on(t.state, t.deadline),
    index('stop_payments_created_by_idx').on(t.createdById),
    index('stop_payments_reported_idx').on(t.reportedAt),
    index('stop_payments_created_idx').on(t.createdAt),
    index('stop_payments_approved_idx').on(t.approvedAt),
    // With the two above, the statistics find a period's decisions and stops without reading every case.
    index('stop_payments_rejected_idx').on(t.rejectedAt),
    index('stop_payments_first_stop_idx').on(t.firstStopAt),
    index('stop_payments_victim_phone_idx').on(t.victimPhone, t.createdAt),
    // "Which other cases sent money to this account?" — filed transfers, before any hold exists.
    index('stop_payments_transfers_idx').using('gin', sql`(${t.detail} -> 'transfers') jsonb_path_ops`),
  ],
);

/** Read model of held accounts, one row per HoldWorkflow. */
export const holds = pgTable(
  'holds',
  {
    holdId: text('hold_id').primaryKey(),
    stopPaymentId: text('stop_payment_id').notNull(),
    level: smallint('level').notNull(),
    parentHoldId: text('parent_hold_id'),
    bank: text('bank').notNull(),
    account: text('account').notNull(),
    state: text('state').notNull(),
    requestedFen: fen('requested_fen').notNull(),
    stoppedFen: fen('stopped_fen').notNull().default(0),
    frozenFen: fen('frozen_fen').notNull().default(0),
    expiresAt: at('expires_at'),
    legalDocRef: text('legal_doc_ref'),
    stoppedAt: at('stopped_at'),
    seq: integer('seq').notNull(),
    updatedAt: at('updated_at').notNull().defaultNow(),
  },
  (t) => [index('holds_case_idx').on(t.stopPaymentId), index('holds_account_idx').on(t.account)],
);

/** What happened to a case, in order: one row per (workflow, step), so a replayed projection is a no-op. */
export const caseEvents = pgTable(
  'case_events',
  {
    workflowId: text('workflow_id').notNull(),
    seq: integer('seq').notNull(),
    caseType: text('case_type').notNull(),
    caseId: text('case_id').notNull(),
    at: at('at').notNull(),
    kind: text('kind').notNull(),
    actorUserId: text('actor_user_id'),
    actorRole: text('actor_role'),
    detail: jsonb('detail')
      .notNull()
      .default(sql`'{}'::jsonb`),
  },
  (t) => [
    primaryKey({ columns: [t.workflowId, t.seq] }),
    index('case_events_case_idx').on(t.caseType, t.caseId, t.at),
    index('case_events_kind_idx').on(t.kind, t.at),
    // Deadline breaches by period, for the statistics, from the index alone.
    index('case_events_breaches_idx')
      .on(t.at, t.detail)
      .where(sql`${t.kind} = 'deadline_missed'`),
  ],
);

/**
 * The statistics rolled up per hour, day and month (UTC), so that a year answers without reading a year
 * of rows (services/stats.ts). Kept by triggers on alerts, stop_payments and case_events in the writing
 * transaction, from what each row contributes (`measure`, `key` → `n`, `total`; see migration 0009), by
 * the delta between the row before and after: a retried projection adds nothing, a refused one never
 * fires. Several stripes of one row let concurrent writers each take one nobody holds; readers sum them.
 */
export const statsRollups = pgTable(
  'stats_rollups',
  {
    grain: text('grain').notNull(),
    bucket: at('bucket').notNull(),
    measure: text('measure').notNull(),
    key: text('key').notNull(),
    stripe: integer('stripe').notNull(),
    n: bigint('n', { mode: 'number' }).notNull(),
    total: fen('total').notNull(),
  },
  (t) => [primaryKey({ columns: [t.grain, t.bucket, t.measure, t.key, t.stripe] })],
);

/** Notification outbox: written by workflow activities, delivered by the dispatcher exactly once. */
export const notifications = pgTable(
  'notifications',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    /** `<workflowId>:<seq>:<recipient>`: a retried activity writes the same row once. */
    dedupeKey: text('dedupe_key').notNull(),
    recipientRole: text('recipient_role').notNull(),
    recipientUserId: text('recipient_user_id'),
    kind: text('kind').notNull(),
    caseType: text('case_type').notNull(),
    caseId: text('case_id').notNull(),
    workflowId: text('workflow_id').notNull(),
    message: text('message').notNull(),
    payload: jsonb('payload')
      .notNull()
      .default(sql`'{}'::jsonb`),
    createdAt: at('created_at').notNull().defaultNow(),
    deliveredAt: at('delivered_at'),
    /** Which channel delivered it: `webhook` or `log`. */
    deliveredVia: text('delivered_via'),
    attempts: integer('attempts').notNull().default(0),
    /** A failed delivery is retried with backoff, not before this. */
    nextAttemptAt: at('next_attempt_at'),
    lastError: text('last_error'),
    /** A dispatcher delivering it now, until then; past it, another may (the first one died). */
    claimedUntil: at('claimed_until'),
    /** A supervisor saw this escalation and took it on: who, and when. */
    acknowledgedAt: at('acknowledged_at'),
    acknowledgedBy: text('acknowledged_by'),
  },
  (t) => [
    uniqueIndex('notifications_dedupe_idx').on(t.dedupeKey),
    index('notifications_pending_idx')
      .on(t.id)
      .where(sql`${t.deliveredAt} is null`),
    index('notifications_recipient_idx').on(t.recipientRole, t.createdAt),
    index('notifications_case_idx').on(t.caseType, t.caseId),
  ],
);

/** Closed histories, hash-chained: altering, deleting or reordering a record breaks verification. */
export const auditArchive = pgTable(
  'audit_archive',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    workflowId: text('workflow_id').notNull(),
    runId: text('run_id').notNull(),
    workflowType: text('workflow_type').notNull(),
    status: text('status').notNull(),
    closedAt: at('closed_at').notNull(),
    /** The history JSON exactly as hashed (text, not jsonb: jsonb would normalise the bytes away). */
    history: text('history').notNull(),
    sha256: text('sha256').notNull(),
    prevSha256: text('prev_sha256'),
    /** HMAC-SHA-256 (hex) of the record's sha256 under FANZHA_AUDIT_KEY (chain v2); null: a v1 record, written before keys. */
    mac: text('mac'),
    /** Which key sealed it (config/index.ts archiveKeyId), so that a record sealed with another key says so. */
    macKeyId: text('mac_key_id'),
    archivedAt: at('archived_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('audit_archive_run_idx').on(t.workflowId, t.runId),
    index('audit_archive_type_idx').on(t.workflowType),
    index('audit_archive_closed_idx').on(t.closedAt),
  ],
);

/** Who looked at which case through the audit endpoints, and when. */
export const auditAccessLog = pgTable(
  'audit_access_log',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    userId: text('user_id').notNull(),
    action: text('action').notNull(),
    workflowId: text('workflow_id'),
    /** What was looked for, when it is not a case (a search: the phone or account, kept for the auditors). */
    subject: text('subject'),
    at: at('at').notNull().defaultNow(),
  },
  (t) => [index('audit_access_log_at_idx').on(t.at), index('audit_access_log_workflow_idx').on(t.workflowId, t.id)],
);

// --- Console sign-in (people; machines keep their API tokens) -------------------------------------

/** A password its user set through an enrollment link: scrypt, salted; nobody else ever sees it. */
export const passwords = pgTable('passwords', {
  userId: text('user_id')
    .primaryKey()
    .references(() => users.userId, { onDelete: 'cascade' }),
  hash: text('hash').notNull(),
  setAt: at('set_at').notNull().defaultNow(),
});

/** One-time links to set (or reset) a password, valid 24 h; only their SHA-256 is stored. */
export const enrollments = pgTable(
  'enrollments',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    createdBy: text('created_by').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    usedAt: at('used_at'),
  },
  (t) => [index('enrollments_user_idx').on(t.userId)],
);

/** Failed sign-ins, per name and per address: five in 15 minutes lock either for 15 minutes. */
export const signInFailures = pgTable(
  'sign_in_failures',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: at('at').notNull().defaultNow(),
    login: text('login').notNull(),
    address: text('address').notNull(),
  },
  (t) => [
    index('sign_in_failures_login_idx').on(t.login, t.at),
    index('sign_in_failures_address_idx').on(t.address, t.at),
  ],
);

/**
 * Console sessions, in the database so that every API process knows them and they outlive a restart.
 * The cookie holds a random value; only its SHA-256 is stored. A session begun with an API token
 * ends when that token is revoked.
 */
export const sessions = pgTable(
  'sessions',
  {
    sessionHash: text('session_hash').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.userId, { onDelete: 'cascade' }),
    tokenId: text('token_id').references(() => apiTokens.tokenId, { onDelete: 'cascade' }),
    language: text('language').notNull(),
    createdAt: at('created_at').notNull().defaultNow(),
    lastSeenAt: at('last_seen_at').notNull().defaultNow(),
    expiresAt: at('expires_at').notNull(),
    endedAt: at('ended_at'),
  },
  (t) => [index('sessions_user_idx').on(t.userId)],
);

/**
 * One row per projection, written in its transaction: the console's live feed. Its id is the
 * Server-Sent Events ID, so any API process resumes a stream from Last-Event-ID.
 */
export const liveChanges = pgTable(
  'live_changes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    at: at('at').notNull().defaultNow(),
    workflowId: text('workflow_id').notNull(),
    caseType: text('case_type').notNull(),
    caseId: text('case_id').notNull(),
    /** The alert's station (a station officer is told of their station's alerts only). */
    stationId: text('station_id'),
    /** The state after the change, e.g. `queued`, `visit_pending`, `pending_approval`. */
    state: text('state').notNull(),
  },
  (t) => [index('live_changes_at_idx').on(t.at)],
);
