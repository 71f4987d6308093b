/**
 * The scheduled backup's activity: one backup of the embedded system into FANZHA_BACKUP_DIR, the
 * database dumped in this process (the one holding PGlite), then the oldest beyond FANZHA_BACKUP_KEEP
 * deleted. Registered only by the worker in that process (createFanzhaWorker's `scheduledBackup`).
 */
import { mkdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ApplicationFailure, Context } from '@temporalio/activity';
import { backUpEmbedded, dumpEmbeddedDatabase } from '#backup/embedded.js';
import { pruneScheduledBackups, removeStalePartials, scheduledBackupName } from '#backup/folder.js';
import type { FanzhaConfig } from '#config/index.js';
import type { DatabaseHandle } from '#db/client.js';
import type { ScheduledBackup } from '#domain/backup.js';

/** A partial file this old was left by a backup that died (a live one writes to it all the time). */
const STALE_PARTIAL_MS = 10 * 60_000;

export function createBackupActivities({
  config,
  database,
  log,
}: {
  config: FanzhaConfig;
  database: DatabaseHandle;
  log: (line: string) => void;
}) {
  return {
    async backUpToFolder(): Promise<ScheduledBackup> {
      const schedule = config.backup;
      // A run left over from before FANZHA_BACKUP_EVERY was removed (or restored from a backup): no retry configures it.
      if (!schedule || !database.dumpDataDir)
        throw ApplicationFailure.nonRetryable(
          'scheduled backups are not configured in this process (FANZHA_BACKUP_EVERY on the embedded system)',
          'backup_not_configured',
        );
      const context = Context.current();
      // The dump and the copy are awaited, not busy loops: the heartbeat gets its turn.
      const beat = setInterval(() => context.heartbeat(), 10_000);
      try {
        mkdirSync(schedule.dir, { recursive: true, mode: 0o700 });
        for (const file of removeStalePartials(schedule.dir, STALE_PARTIAL_MS))
          log(`removed ${file}, left by a scheduled backup that did not finish`);
        const started = new Date();
        const target = path.join(schedule.dir, scheduledBackupName(started));
        const result = await backUpEmbedded({
          config,
          client: context.client,
          target,
          dumpDatabase: async (to) => {
            const { dump, info } = await dumpEmbeddedDatabase(database);
            await writeFile(to, Buffer.from(await dump.arrayBuffer()), { mode: 0o600 });
            return info;
          },
          what: 'the backup schedule',
          log,
        });
        const deleted = pruneScheduledBackups(schedule.dir, schedule.keep);
        log(
          `scheduled backup written: ${result.file} (${result.bytes} bytes, taken at ${result.takenAt}, in ${((Date.now() - started.getTime()) / 1000).toFixed(1)}s)${deleted.length ? `; deleted the older ${deleted.join(', ')}` : ''}`,
        );
        return { file: path.basename(result.file), bytes: result.bytes, takenAt: result.takenAt, deleted };
      } finally {
        clearInterval(beat);
      }
    },
  };
}

export type BackupActivities = ReturnType<typeof createBackupActivities>;
