/** The scheduled backup's plain vocabulary, shared by the BackupWorkflow, its activity and its schedule. */

export const BACKUP_WORKFLOW_TYPE = 'BackupWorkflow';

/** What one scheduled backup wrote, and which older backups it deleted to keep the newest FANZHA_BACKUP_KEEP. */
export interface ScheduledBackup {
  /** The backup file's name in the backup folder (fanzha-<UTC time>.backup). */
  file: string;
  bytes: number;
  takenAt: string;
  deleted: string[];
}
