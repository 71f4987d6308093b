/**
 * The Temporal Schedule that runs the BackupWorkflow (FANZHA_BACKUP_EVERY): created or brought in line
 * by the embedded system's application process at every start, and deleted there when the variable is
 * gone, so that the configuration is the one place saying whether backups are scheduled.
 */
import { ScheduleAlreadyRunning, ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { BACKUP_WORKFLOW_TYPE } from '#domain/backup.js';

/** `fanzha-backup` for the default task queue. */
export const backupScheduleId = (taskQueue: string) => `${taskQueue}-backup`;

/**
 * Makes the schedule run a backup every `everyMs` (null: no schedule, an existing one is deleted).
 * Safe to call at every start, also concurrently.
 */
export async function ensureBackupSchedule(
  client: Client,
  options: { taskQueue: string; everyMs: number | null; scheduleId?: string },
): Promise<'created' | 'updated' | 'unchanged' | 'deleted' | 'none'> {
  const scheduleId = options.scheduleId ?? backupScheduleId(options.taskQueue);
  const handle = client.schedule.getHandle(scheduleId);
  if (options.everyMs === null) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (error) {
      if (error instanceof ScheduleNotFoundError) return 'none';
      throw error;
    }
  }
  const spec = { intervals: [{ every: options.everyMs }] };
  const action = {
    type: 'startWorkflow' as const,
    workflowType: BACKUP_WORKFLOW_TYPE,
    workflowId: scheduleId,
    taskQueue: options.taskQueue,
    args: [] as [],
  };
  // A backup missed while the system was down (a machine off at night) is taken when it is back, once:
  // one backup at a time (SKIP), so an outage of many intervals does not queue up a burst of them.
  const catchupWindow = Math.max(60_000, options.everyMs);
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const current = await handle.describe();
  const every = current.spec.intervals?.[0]?.every;
  const sameQueue = current.action.type === 'startWorkflow' && current.action.taskQueue === options.taskQueue;
  if (
    every === Math.round(options.everyMs / 1000) * 1000 &&
    current.spec.intervals?.length === 1 &&
    sameQueue &&
    current.policies.catchupWindow === catchupWindow
  )
    return 'unchanged';
  await handle.update((previous) => ({
    ...previous,
    spec,
    action,
    policies: { ...previous.policies, overlap: ScheduleOverlapPolicy.SKIP, catchupWindow },
  }));
  return 'updated';
}
