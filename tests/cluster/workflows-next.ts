/**
 * "The next release" for the cluster test's rolling upgrade: today's workflows with one change behind
 * patched(), the way every change to a deployed workflow is made. An alert that starts on it records
 * the patch; one started on the old code finishes on this one. While both run side by side, an old
 * worker that meets a history with the patch fails that task, and a new worker completes it.
 */
import { log, patched } from '@temporalio/workflow';
import type { AlertWorkflowInput } from '../../workflows/alert.js';
import { AlertWorkflow as AlertWorkflowToday } from '../../workflows/alert.js';

export * from '../../workflows/index.js';

export const NEXT_RELEASE_PATCH = 'cluster-test-next-release';

export async function AlertWorkflow(input: AlertWorkflowInput) {
  if (patched(NEXT_RELEASE_PATCH)) log.info('alert started on the next release');
  return AlertWorkflowToday(input);
}
