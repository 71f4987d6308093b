/**
 * Bundles workflows/ (with the workflow interceptor modules named after the file) into the file named
 * by its first argument, then exits. A worker runs it as a child
 * process (bundleWorkflowsApart) so that webpack's heap goes with it instead of staying in the worker's.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './worker.js';

const [file, ...workflowInterceptorModules] = process.argv.slice(2);
if (!file) {
  console.error('usage: bundle-workflows.ts <output file> [workflow interceptor module…]');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, workflowInterceptorModules });
writeFileSync(file, code);
