/**
 * `bundle-workflows.ts <output file> <workflows index> [workflow interceptor module…]`: bundles the
 * workflows into the output file, then exits. Workers and `npm run cluster` run it as a child process
 * (bundleWorkflowsApart), so that webpack's heap goes with it instead of staying in theirs.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';

const [file, workflowsPath, ...workflowInterceptorModules] = process.argv.slice(2);
if (!file || !workflowsPath) {
  console.error('usage: bundle-workflows.ts <output file> <workflows index> [workflow interceptor module…]');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({ workflowsPath, workflowInterceptorModules });
writeFileSync(file, code);
