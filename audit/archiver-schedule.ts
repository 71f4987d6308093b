/** The Temporal Schedule that runs the ArchiverWorkflow; created or brought in line by every process at start. */
import { ScheduleAlreadyRunning, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { ARCHIVER_WORKFLOW_TYPE, type ArchiverInput } from '#domain/archive.js';

/** `fanzha-archiver` for the default task queue: one schedule per deployment sharing a namespace. */
export const archiverScheduleId = (taskQueue: string) => `${taskQueue}-archiver`;

/**
 * Creates the schedule that runs the archiver every `everyMs`, or brings an existing one in line
 * (interval, task queue). Safe to call from every process at every start, also concurrently.
 */
export async function ensureArchiverSchedule(
  client: Client,
  options: { taskQueue: string; everyMs: number; scheduleId?: string },
): Promise<'created' | 'updated' | 'unchanged'> {
  const scheduleId = options.scheduleId ?? archiverScheduleId(options.taskQueue);
  const spec = { intervals: [{ every: options.everyMs }] };
  const args: [ArchiverInput] = [{ taskQueue: options.taskQueue }];
  const action = {
    type: 'startWorkflow' as const,
    workflowType: ARCHIVER_WORKFLOW_TYPE,
    workflowId: scheduleId,
    taskQueue: options.taskQueue,
    args,
  };
  try {
    await client.schedule.create({
      scheduleId,
      spec,
      action,
      // One archiver at a time per schedule; an outage does not queue up a burst of runs.
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1 minute' },
    });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  const handle = client.schedule.getHandle(scheduleId);
  const current = await handle.describe();
  const every = current.spec.intervals?.[0]?.every;
  const sameQueue = current.action.type === 'startWorkflow' && current.action.taskQueue === options.taskQueue;
  if (every === Math.round(options.everyMs / 1000) * 1000 && current.spec.intervals?.length === 1 && sameQueue)
    return 'unchanged';
  await handle.update((previous) => ({ ...previous, spec, action }));
  return 'updated';
}
