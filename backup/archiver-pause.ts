/**
 * The archiver schedule is paused while a backup is taken (embedded or cluster): an archiver run that
 * finished between two parts of a snapshot would leave an anchor in Temporal's copy for archive rows
 * Fanzha's copy lacks. A restored system resumes the schedule only if the backup paused it.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { archiverScheduleId } from '#audit/archiver-schedule.js';

/** The note a backup pauses the schedule with: a restore resumes only a schedule paused by a backup. */
export const BACKUP_PAUSE_NOTE = 'backup';

/** Pauses the archiver schedule and waits for a run in progress; returns how to undo it (null when it was paused already). */
export async function pauseArchiver(client: Client, taskQueue: string): Promise<(() => Promise<void>) | null> {
  const handle = client.schedule.getHandle(archiverScheduleId(taskQueue));
  const before = await handle.describe();
  if (before.state.paused) return null;
  await handle.pause(BACKUP_PAUSE_NOTE);
  for (let waited = 0; waited < 120_000; waited += 250) {
    if ((await handle.describe()).info.runningActions.length === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  return () => handle.unpause('backup done');
}

/**
 * After a restore: resumes the schedule if a backup paused it (its note says so); a schedule an
 * operator paused stays paused. Says what it found.
 */
export async function resumeArchiverPausedByBackup(
  client: Client,
  taskQueue: string,
): Promise<'resumed' | 'running' | 'paused by someone else' | 'absent'> {
  const handle = client.schedule.getHandle(archiverScheduleId(taskQueue));
  let state;
  try {
    state = (await handle.describe()).state;
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) return 'absent';
    throw error;
  }
  if (!state.paused) return 'running';
  if (state.note !== BACKUP_PAUSE_NOTE) return 'paused by someone else';
  await handle.unpause('restored from a backup');
  return 'resumed';
}
