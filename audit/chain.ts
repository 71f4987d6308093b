/**
 * The audit archive as a keyed hash chain (DESIGN.md §6). Each record's `sha256` is the SHA-256 (hex) of
 *
 *     JSON.stringify({ v, workflowId, runId, workflowType, status, closedAt, prevSha256 }) + "\n" + history
 *
 * where `closedAt` is the ISO-8601 UTC time with milliseconds, `history` is the stored history JSON
 * text byte for byte, and `prevSha256` is the `sha256` of the record before it (by id; null for the
 * first). Records of chain v2 (all written now) also carry `mac` = HMAC-SHA-256(FANZHA_AUDIT_KEY,
 * "fanzha-archive-v2\n" + sha256): as `sha256` covers every record before it, a MAC seals the whole
 * chain up to its record, and without the key nobody can alter a record and recompute the chain.
 * v1 records (no `mac`, written before keys) still verify by their hash, but only before the first v2
 * record. What a MAC cannot show — the newest records deleted — the anchor does: every archiver run
 * returns the head it leaves (audit/anchor.ts), and verification compares the table with it.
 * Appends are serialised with a transaction-level advisory lock, so the previous hash is always that
 * of the latest record, and one (workflowId, runId) is archived once.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import { archiveKeyId } from '#config/index.js';
import type { Database } from '#db/client.js';
import { auditArchive } from '#db/schema.js';
import type { ArchiveHead } from '#domain/archive.js';

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

export function archiveHash(record: ArchiveFields & { prevSha256: string | null }, version: 1 | 2 = 2): string {
  const header = JSON.stringify({
    v: version,
    workflowId: record.workflowId,
    runId: record.runId,
    workflowType: record.workflowType,
    status: record.status,
    closedAt: record.closedAt.toISOString(),
    prevSha256: record.prevSha256,
  });
  return createHash('sha256').update(header).update('\n').update(record.history).digest('hex');
}

export const archiveMac = (key: Buffer, sha256: string) =>
  createHmac('sha256', key).update('fanzha-archive-v2\n').update(sha256).digest('hex');

const sameHex = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/** The archive has no key to seal with: nothing is written unsealed. */
export class NoArchiveKeyError extends Error {
  constructor() {
    super('FANZHA_AUDIT_KEY is not set: the audit archive is not written without its key');
  }
}

/** Appends a closed run to the chain (v2, sealed with `key`), once: a run already archived answers its existing record. */
export async function appendToArchive(
  db: Database,
  key: Buffer | null,
  record: ArchiveFields,
): Promise<{ id: number; sha256: string; created: boolean }> {
  if (!key) throw new NoArchiveKeyError();
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
      .values({ ...record, sha256, prevSha256, mac: archiveMac(key, sha256), macKeyId: archiveKeyId(key) })
      .returning({ id: auditArchive.id });
    return { id: row!.id, sha256, created: true };
  });
}

/** The newest record: what an archiver run anchors. null: the archive is empty. */
export async function archiveHead(db: Database): Promise<ArchiveHead | null> {
  const [head] = await db
    .select({ id: auditArchive.id, sha256: auditArchive.sha256, mac: auditArchive.mac })
    .from(auditArchive)
    .orderBy(desc(auditArchive.id))
    .limit(1);
  return head ?? null;
}

/** The head Temporal holds: the newest archiver run's, or none (no archiver run has anchored the archive yet). */
export interface Anchor {
  head: ArchiveHead | null;
  /** Which archiver run anchored it (workflowId/runId). */
  by: string;
}

/** Why verification failed, for words in any language (`reason` says it in English, for the API and the CLI). */
export type ArchiveBreak =
  | 'unlinked'
  | 'altered'
  | 'unsealed'
  | 'no_key'
  | 'other_key'
  | 'mac_mismatch'
  | 'head_rewritten'
  | 'head_missing'
  | 'not_anchored';

export type VerifyResult =
  | { ok: true; records: number; anchoredAt: string | null }
  | { ok: false; records: number; brokenAt?: string; reason: string; why: ArchiveBreak };

/**
 * Walks the chain in id order and compares it with the anchor. `brokenAt` is the first record that
 * does not hold: its hash does not match its contents, its MAC does not match its hash (altered and
 * recomputed without the key; or sealed with another key), it has no MAC after keyed records, its
 * `prevSha256` is not the hash of the record before it (a record deleted, or records reordered), it is
 * not the record the anchor names — or it is the anchored head itself, missing (the newest records
 * deleted). `reason` says which, in words. `records` counts every record in the archive.
 */
export async function verifyArchive(
  db: Database,
  options: { key: Buffer | null; anchor: Anchor | null },
  batchSize = 50,
): Promise<VerifyResult> {
  const { key, anchor } = options;
  const keyId = key ? archiveKeyId(key) : null;
  let records = 0;
  let broken: { at: string; reason: string; why: ArchiveBreak } | null = null;
  let previous: { id: number; sha256: string } | null = null;
  let keyed = false;
  let anchorSeen = false;
  let after = 0;
  const fail = (at: number, why: ArchiveBreak, reason: string) => (broken ??= { at: String(at), why, reason });
  for (;;) {
    const rows = await db
      .select()
      .from(auditArchive)
      .where(gt(auditArchive.id, after))
      .orderBy(asc(auditArchive.id))
      .limit(batchSize);
    for (const row of rows) {
      records++;
      if (broken) continue;
      if (row.prevSha256 !== (previous?.sha256 ?? null))
        fail(
          row.id,
          'unlinked',
          `record ${row.id} does not link to ${previous ? `record ${previous.id}` : 'the start of the chain'}: a record was deleted, inserted or moved`,
        );
      else if (row.mac === null) {
        if (keyed)
          fail(
            row.id,
            'unsealed',
            `record ${row.id} has no MAC after sealed records: it was written or rewritten without the key`,
          );
        else if (archiveHash(row, 1) !== row.sha256)
          fail(row.id, 'altered', `record ${row.id} does not match its hash: it was altered`);
      } else {
        keyed = true;
        if (archiveHash(row, 2) !== row.sha256)
          fail(row.id, 'altered', `record ${row.id} does not match its hash: it was altered`);
        else if (!key || !keyId)
          fail(
            row.id,
            'no_key',
            `record ${row.id} is sealed, and FANZHA_AUDIT_KEY is not set here: its MAC cannot be checked`,
          );
        else if (row.macKeyId !== keyId)
          fail(
            row.id,
            'other_key',
            `record ${row.id} was sealed with another key (key id ${row.macKeyId ?? 'none'}; FANZHA_AUDIT_KEY here is key id ${keyId}): this is not the archive's FANZHA_AUDIT_KEY`,
          );
        else if (!sameHex(archiveMac(key, row.sha256), row.mac))
          fail(
            row.id,
            'mac_mismatch',
            `record ${row.id} does not match its MAC: it was altered and the chain recomputed without the key`,
          );
      }
      if (anchor?.head && row.id === anchor.head.id) {
        anchorSeen = true;
        if (row.sha256 !== anchor.head.sha256 || row.mac !== anchor.head.mac)
          fail(
            row.id,
            'head_rewritten',
            `record ${row.id} is not the head that archiver run ${anchor.by} anchored in Temporal: it was rewritten`,
          );
      }
      previous = { id: row.id, sha256: row.sha256 };
    }
    if (rows.length < batchSize) break;
    after = rows[rows.length - 1]!.id;
  }
  if (!broken && anchor?.head && !anchorSeen)
    fail(
      anchor.head.id,
      'head_missing',
      `record ${anchor.head.id}, the head that archiver run ${anchor.by} anchored in Temporal, is missing (the archive ends at ${previous ? `record ${previous.id}` : 'nothing'}): the newest records were deleted`,
    );
  if (!broken && !anchor && records > 0)
    broken = {
      at: '',
      why: 'not_anchored',
      reason:
        'no archiver run in Temporal has anchored the archive yet: its newest records cannot be checked (the next archiver run anchors it)',
    };
  if (!broken) return { ok: true, records, anchoredAt: anchor?.head ? String(anchor.head.id) : null };
  return broken.at
    ? { ok: false, records, brokenAt: broken.at, reason: broken.reason, why: broken.why }
    : { ok: false, records, reason: broken.reason, why: broken.why };
}
