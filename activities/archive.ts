/** The archive activities the ArchiverWorkflow calls: the archiver of audit/archive.ts, with the activity's client and heartbeat. */
import { Context } from '@temporalio/activity';
import type { Database } from '#db/client.js';
import type { RunRef } from '#domain/archive.js';
import { createArchiver } from '#audit/archive.js';

const archiver = (db: Database) => {
  const context = Context.current();
  return createArchiver({ db, client: context.client, heartbeat: () => context.heartbeat() });
};

export function createArchiveActivities({ db }: { db: Database }) {
  return {
    listArchivable: (input: { taskQueue: string; limit: number }) => archiver(db).listArchivable(input),
    archiveRun: (run: RunRef) => archiver(db).archiveRun(run),
  };
}

export type ArchiveActivities = ReturnType<typeof createArchiveActivities>;
