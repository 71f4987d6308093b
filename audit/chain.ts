/**
 * The audit archive as a hash chain (DESIGN.md §6). Each record's `sha256` is the SHA-256 (hex) of
 *
 *     JSON.stringify({ v: 1, workflowId, runId, workflowType, status, closedAt, prevSha256 }) + "\n" + history
 *
 * where `closedAt` is the ISO-8601 UTC time with milliseconds, `history` is the stored history JSON
 * text byte for byte, and `prevSha256` is the `sha256` of the record before it (by id; null for the
 * first). Changing any byte of a record changes its hash; deleting a record or swapping two breaks the
 * link of the record after. Appends are serialised with a transaction-level advisory lock, so the
 * previous hash is always that of the latest record, and one (workflowId, runId) is archived once.
 */
import { createHash } from 'node:crypto';
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { auditArchive } from '#db/schema.js';

/** pg_advisory_xact_lock key of the archive chain ("fanzha-audit" in spirit; any fixed bigint works). */
export const ARCHIVE_CHAIN_LOCK = 7_272_746_100n;

export interface ArchiveFields {
  workflowId: string;
  runId: string;
  workflowType: string;
  status: string;
  closedAt: Date;
  history: string;
}

export function archiveHash(record: ArchiveFields & { prevSha256: string | null }): string {
  const header = JSON.stringify({
    v: 1,
    workflowId: record.workflowId,
    runId: record.runId,
    workflowType: record.workflowType,
    status: record.status,
    closedAt: record.closedAt.toISOString(),
    prevSha256: record.prevSha256,
  });
  return createHash('sha256').update(header).update('\n').update(record.history).digest('hex');
}

/** Appends a closed run to the chain, once: a run already archived answers its existing record. */
export async function appendToArchive(
  db: Database,
  record: ArchiveFields,
): Promise<{ id: number; sha256: string; created: boolean }> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${ARCHIVE_CHAIN_LOCK.toString()}::bigint)`);
    const [existing] = await tx
      .select({ id: auditArchive.id, sha256: auditArchive.sha256 })
      .from(auditArchive)
      .where(and(eq(auditArchive.workflowId, record.workflowId), eq(auditArchive.runId, record.runId)));
    if (existing) return { ...existing, created: false };
    const [last] = await tx
      .select({ sha256: auditArchive.sha256 })
      .from(auditArchive)
      .orderBy(desc(auditArchive.id))
      .limit(1);
    const prevSha256 = last?.sha256 ?? null;
    const sha256 = archiveHash({ ...record, prevSha256 });
    const [row] = await tx
      .insert(auditArchive)
      .values({ ...record, sha256, prevSha256 })
      .returning({ id: auditArchive.id });
    return { id: row!.id, sha256, created: true };
  });
}

export type VerifyResult = { ok: true; records: number } | { ok: false; records: number; brokenAt: string };

/**
 * Walks the chain in id order. `brokenAt` is the first record whose own hash does not match its
 * contents (it was altered) or whose `prevSha256` is not the hash of the record before it (a record
 * before it was deleted, or records were reordered). `records` counts every record in the archive.
 */
export async function verifyArchive(db: Database, batchSize = 50): Promise<VerifyResult> {
  let records = 0;
  let brokenAt: string | null = null;
  let previous: string | null = null;
  let after = 0;
  for (;;) {
    const rows = await db
      .select()
      .from(auditArchive)
      .where(gt(auditArchive.id, after))
      .orderBy(asc(auditArchive.id))
      .limit(batchSize);
    for (const row of rows) {
      records++;
      if (brokenAt === null && (row.prevSha256 !== previous || archiveHash(row) !== row.sha256))
        brokenAt = String(row.id);
      previous = row.sha256;
    }
    if (rows.length < batchSize) break;
    after = rows[rows.length - 1]!.id;
  }
  return brokenAt === null ? { ok: true, records } : { ok: false, records, brokenAt };
}
