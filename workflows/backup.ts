/**
 * BackupWorkflow: run by the backup schedule (FANZHA_BACKUP_EVERY), it has the embedded system's
 * application process — the one holding the PGlite database — write one encrypted backup into the
 * backup folder and delete the oldest beyond FANZHA_BACKUP_KEEP, and returns what it wrote. One
 * activity: deterministic, and its history says when each backup was taken and how big it is.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { ScheduledBackup } from '../domain/backup.js';
import type { BackupActivities } from '../activities/backup.js';

export type { ScheduledBackup };

// The heartbeat finds a backup whose process died in 2 minutes, so the schedule (which skips while a
// run is open) is not held up for the whole start-to-close. A few attempts only: the next scheduled run
// is the real retry, and a failed run is what the operator sees in the Web UI.
const { backUpToFolder } = proxyActivities<BackupActivities>({
  startToCloseTimeout: '1h',
  heartbeatTimeout: '2m',
  retry: {
    initialInterval: '10s',
    backoffCoefficient: 2,
    maximumAttempts: 3,
    nonRetryableErrorTypes: ['backup_not_configured'],
  },
});

export async function BackupWorkflow(): Promise<ScheduledBackup> {
  return await backUpToFolder();
}
