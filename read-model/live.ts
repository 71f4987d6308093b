/** The live feed's rows (live_changes, one per projection; case-steps.ts writes them), read by id. */
import { asc, gt, max } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { liveChanges } from '#db/schema.js';

export type LiveChange = typeof liveChanges.$inferSelect;

/** The newest id: a page rendered now already shows everything up to it. */
export async function newestChangeId(db: Database): Promise<number> {
  const [row] = await db.select({ id: max(liveChanges.id) }).from(liveChanges);
  return row?.id ?? 0;
}

export async function changesAfter(db: Database, afterId: number, limit = 200): Promise<LiveChange[]> {
  return db.select().from(liveChanges).where(gt(liveChanges.id, afterId)).orderBy(asc(liveChanges.id)).limit(limit);
}
