/** The archive activities the ArchiverWorkflow calls: the archiver of audit/archive.ts, with the activity's client, heartbeat and the archive's key. */
import { Context } from '@temporalio/activity';
import type { Database } from '#db/client.js';
import type { RunRef } from '#domain/archive.js';
import { createArchiver } from '#audit/archive.js';

/** `auditKey` seals the archive (config archiveKey); without it archiveRun fails rather than write unsealed. */
export function createArchiveActivities({ db, auditKey }: { db: Database; auditKey: Buffer | null }) {
  const archiver = () => {
    const context = Context.current();
    return createArchiver({ db, client: context.client, key: auditKey, heartbeat: () => context.heartbeat() });
  };
  return {
    listArchivable: (input: { taskQueue: string; limit: number }) => archiver().listArchivable(input),
    archiveRun: (run: RunRef) => archiver().archiveRun(run),
    anchorHead: (input: { taskQueue: string }) => archiver().anchorHead(input),
  };
}

export type ArchiveActivities = ReturnType<typeof createArchiveActivities>;
