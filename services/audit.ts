/**
 * The auditor's view of every case (DESIGN.md §6): a human timeline and the raw history of any
 * workflow, from Temporal or from the archive once Temporal no longer has it; replay of that history
 * against the current workflow code; the hash-chained archive and its verification. Every read of a
 * case through these is written to audit_access_log first (a failed read too), which an admin reads.
 */
import type { Client } from '@temporalio/client';
import { and, desc, eq, lt, type SQL } from 'drizzle-orm';
import { readAnchor } from '#audit/anchor.js';
import { verifyArchive } from '#audit/chain.js';
import { createReplayer } from '#audit/replay.js';
import { createHistorySource, type LoadedRun } from '#audit/source.js';
import { chainTimeline } from '#audit/timeline.js';
import { archiveKey, type FanzhaConfig } from '#config/index.js';
import type { Database } from '#db/client.js';
import { adminLog, auditAccessLog, auditArchive, users } from '#db/schema.js';
import type { AdminAction, User } from '#db/users.js';
import { maskPhone } from '#domain/alert.js';
import { notFound } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { createAccessLog, type AccessAction } from './access-log.js';
import { decodeCursor, encodeCursor, isIdCursor } from './cursor.js';
import { requireRole } from './decisions.js';

/** What the access log may say was done (the auditor's reads, searches, unmasked reads of cases). */
export { ACCESS_ACTIONS as AUDIT_ACTIONS, type AccessAction as AuditAction } from './access-log.js';

const gone = (workflowId: string, runId?: string) =>
  notFound(`Workflow ${workflowId}${runId ? ` run ${runId}` : ''} (neither Temporal nor the audit archive has it)`);
const runFacts = (run: LoadedRun) => ({
  runId: run.runId,
  status: run.status,
  startedAt: run.startedAt,
  closedAt: run.closedAt,
  source: run.source,
  events: run.history.events.length,
});

/** Rows read newest first, one more than asked for: the page as presented, and the cursor after its last row. */
function newestFirst<R extends { id: number }, T>(rows: R[], limit: number, present: (row: R) => T) {
  const page = rows.slice(0, limit);
  return { items: page.map(present), nextCursor: rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null };
}

export function createAuditService(deps: { db: Database; temporal: Client; config: FanzhaConfig }) {
  const { db } = deps;
  const source = createHistorySource({ db, temporal: deps.temporal });
  const replayer = createReplayer({ bundlePath: deps.config.audit.replayBundlePath });

  async function run(workflowId: string, runId?: string): Promise<LoadedRun> {
    const found = await source.loadRun(workflowId, runId);
    if (!found) throw gone(workflowId, runId);
    return found;
  }

  /** Who read which case, and how: written before the read, so a failed read is recorded too. */
  const accessLog = createAccessLog(db);
  async function logAccess(user: User, action: AccessAction, workflowId: string | null = null) {
    requireRole(user, MAY.audit);
    await accessLog(user, action, { workflowId });
  }

  return {
    source,
    replayer,

    async timeline(user: User, workflowId: string) {
      await logAccess(user, 'timeline', workflowId);
      const chain = await source.loadChain(workflowId);
      if (!chain) throw gone(workflowId);
      const newest = chain.runs[chain.runs.length - 1]!;
      return {
        workflowId,
        runId: newest.runId,
        workflowType: newest.workflowType,
        status: newest.status,
        runs: chain.runs.map(runFacts),
        missingRunId: chain.missingRunId,
        events: chainTimeline(chain.runs.map((r) => ({ runId: r.runId, history: r.history }))),
      };
    },

    /** The raw history of one run, as Temporal wrote it or as the archive hashed it. */
    async history(user: User, workflowId: string, runId?: string) {
      await logAccess(user, 'history', workflowId);
      return run(workflowId, runId);
    },

    async replay(user: User, workflowId: string, runId?: string) {
      await logAccess(user, 'replay', workflowId);
      const found = await run(workflowId, runId);
      const verdict = await replayer.replay({ workflowId, history: found.history });
      return {
        workflowId,
        runId: found.runId,
        workflowType: found.workflowType,
        source: found.source,
        events: found.history.events.length,
        ...verdict,
      };
    },

    async archive(user: User, filters: { limit: number; cursor?: string; workflowId?: string; workflowType?: string }) {
      await logAccess(user, 'archive_list', filters.workflowId ?? null);
      const after = decodeCursor(filters.cursor, isIdCursor);
      const conditions: (SQL | undefined)[] = [
        filters.workflowId ? eq(auditArchive.workflowId, filters.workflowId) : undefined,
        filters.workflowType ? eq(auditArchive.workflowType, filters.workflowType) : undefined,
        after ? lt(auditArchive.id, after) : undefined,
      ];
      const rows = await db
        .select({
          id: auditArchive.id,
          workflowId: auditArchive.workflowId,
          runId: auditArchive.runId,
          workflowType: auditArchive.workflowType,
          status: auditArchive.status,
          closedAt: auditArchive.closedAt,
          archivedAt: auditArchive.archivedAt,
          sha256: auditArchive.sha256,
          prevSha256: auditArchive.prevSha256,
        })
        .from(auditArchive)
        .where(and(...conditions))
        .orderBy(desc(auditArchive.id))
        .limit(filters.limit + 1);
      return newestFirst(rows, filters.limit, (r) => ({
        ...r,
        id: String(r.id),
        closedAt: r.closedAt.toISOString(),
        archivedAt: r.archivedAt.toISOString(),
      }));
    },

    /** The chain checked with the archive's key, and its head against the anchor Temporal holds. */
    async verify(user: User) {
      await logAccess(user, 'archive_verify');
      const anchor = await readAnchor(deps.temporal, deps.config.temporal.taskQueue);
      return verifyArchive(db, { key: archiveKey(deps.config), anchor });
    },

    /** Every privileged act (users, roles, tokens, enrollments), newest first: the auditors read who gave whom what. */
    async adminLog(user: User, filters: { limit: number; cursor?: string; targetUserId?: string }) {
      requireRole(user, MAY.audit);
      const after = decodeCursor(filters.cursor, isIdCursor);
      const rows = await db
        .select()
        .from(adminLog)
        .where(
          and(
            filters.targetUserId ? eq(adminLog.targetUserId, filters.targetUserId) : undefined,
            after ? lt(adminLog.id, after) : undefined,
          ),
        )
        .orderBy(desc(adminLog.id))
        .limit(filters.limit + 1);
      return newestFirst(rows, filters.limit, (r) => ({
        ...r,
        id: String(r.id),
        at: r.at.toISOString(),
        action: r.action as AdminAction,
        detail: r.detail as Record<string, unknown>,
      }));
    },

    async accessLog(
      user: User,
      filters: { limit: number; cursor?: string; userId?: string; workflowId?: string; action?: AccessAction },
    ) {
      requireRole(user, MAY.administer);
      const after = decodeCursor(filters.cursor, isIdCursor);
      const conditions: (SQL | undefined)[] = [
        filters.userId ? eq(auditAccessLog.userId, filters.userId) : undefined,
        filters.workflowId ? eq(auditAccessLog.workflowId, filters.workflowId) : undefined,
        filters.action ? eq(auditAccessLog.action, filters.action) : undefined,
        after ? lt(auditAccessLog.id, after) : undefined,
      ];
      const rows = await db
        .select({
          id: auditAccessLog.id,
          at: auditAccessLog.at,
          userId: auditAccessLog.userId,
          userName: users.name,
          action: auditAccessLog.action,
          workflowId: auditAccessLog.workflowId,
          subject: auditAccessLog.subject,
        })
        .from(auditAccessLog)
        .leftJoin(users, eq(users.userId, auditAccessLog.userId))
        .where(and(...conditions))
        .orderBy(desc(auditAccessLog.id))
        .limit(filters.limit + 1);
      // The admin reading the log is not a reader of cases: a searched phone shows masked.
      return newestFirst(rows, filters.limit, (r) => ({
        ...r,
        id: String(r.id),
        at: r.at.toISOString(),
        subject: r.action === 'search_phone' && r.subject ? maskPhone(r.subject) : r.subject,
      }));
    },
  };
}

export type AuditService = ReturnType<typeof createAuditService>;
