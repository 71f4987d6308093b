/**
 * Bundles workflows/ into the file named by its argument, then exits. A worker runs it as a child
 * process (bundleWorkflowsApart) so that webpack's heap goes with it instead of staying in the worker's.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './worker.js';

const file = process.argv[2];
if (!file) {
  console.error('usage: bundle-workflows.ts <output file>');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH });
writeFileSync(file, code);
