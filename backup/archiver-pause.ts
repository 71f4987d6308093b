/**
 * The archiver schedule is paused while a backup is taken (embedded or cluster): an archiver run that
 * finished between two parts of a snapshot would leave an anchor in Temporal's copy for archive rows
 * Fanzha's copy lacks. A restored system resumes the schedule only if the backup paused it.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import { archiverScheduleId } from '#audit/archiver-schedule.js';

/** The note a backup pauses the schedule with: a restore resumes only a schedule paused by a backup. */
export const BACKUP_PAUSE_NOTE = 'backup';

/**
 * Runs `snapshot` with the archiver schedule paused and resumes it afterwards, whatever happens;
 * `snapshot` learns whether this backup paused it (the manifest says so, for the restore). A schedule
 * paused already is left so; none yet (a system just started) has nothing to pause; one that cannot be
 * reached is warned about and the backup goes on — the snapshot is still whole, only the archive may
 * then hold a history or two that Temporal's copy does not anchor, which `npm run audit` would say.
 */
export async function withArchiverPaused<T>(
  client: Client,
  taskQueue: string,
  log: (line: string) => void,
  snapshot: (archiverPaused: boolean) => Promise<T>,
): Promise<T> {
  const handle = client.schedule.getHandle(archiverScheduleId(taskQueue));
  let paused = false;
  try {
    const { state } = await handle.describe();
    // Paused by a backup that died before resuming it: the caller holds the backup lock, so no other
    // backup runs now, and this one takes the pause over (and resumes it), or it would stay for good.
    if (state.paused && state.note === BACKUP_PAUSE_NOTE) {
      paused = true;
      log('the archiver schedule was left paused by a backup that did not finish: this backup resumes it');
    } else if (state.paused) log('the archiver schedule was paused already (not by a backup): left paused');
    else {
      await handle.pause(BACKUP_PAUSE_NOTE);
      paused = true;
    }
    if (paused) {
      let idle = false;
      for (let waited = 0; !idle && waited < 120_000; waited += 250) {
        idle = (await handle.describe()).info.runningActions.length === 0;
        if (!idle) await new Promise((r) => setTimeout(r, 250));
      }
      log(
        idle
          ? 'archiver schedule paused while backing up'
          : 'WARNING: the archiver schedule is paused, but its running archiver did not end within 2 minutes; backing up anyway — its archive rows may be missing from the copy taken first, which `npm run audit -- verify` on a restore would say',
      );
    }
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) log('no archiver schedule yet: nothing to pause');
    else
      log(
        `WARNING: could not pause the archiver schedule (${(error as Error).message}); backing up anyway — run the backup with the configuration of the running system (its Temporal address)`,
      );
  }
  try {
    return await snapshot(paused);
  } finally {
    if (paused)
      await handle.unpause('backup done').then(
        () => log('archiver schedule resumed'),
        (error) => log(`could not resume the archiver: ${(error as Error).message}`),
      );
  }
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
