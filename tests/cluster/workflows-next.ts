/**
 * "The next release" for the cluster test's rolling upgrade: today's workflows with one change behind
 * patched(), the way every change to a deployed workflow is made. An alert that starts on it records
 * the patch; an alert started on the old code and finished on this one (or the other way round, while
 * both run side by side) replays on both.
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
