/**
 * A worker's part of a trace (services/tracing.ts): a span per activity run, continuing the context
 * its workflow put in the activity's headers, and the workflow's own spans, which are made inside the
 * sandbox (workflows/tracing.ts) and leave it through the `exporter` sink. The workflow interceptors
 * are in the bundle when the worker bundles its workflows itself (bundleWorkflowsApart, told to add
 * TRACING_WORKFLOW_INTERCEPTORS); a prebuilt bundle (FANZHA_WORKFLOW_BUNDLE) carries them only if it was
 * built with them — otherwise its workflows (and so their activities) are left out of the traces.
 */
import { fileURLToPath } from 'node:url';
import {
  makeWorkflowExporter,
  OpenTelemetryActivityInboundInterceptor,
  OpenTelemetryActivityOutboundInterceptor,
} from '@temporalio/interceptors-opentelemetry/lib/worker/index.js';
import type { WorkerOptions } from '@temporalio/worker';
import type { Tracing } from '#services/tracing.js';

export const TRACING_WORKFLOW_INTERCEPTORS = fileURLToPath(new URL('../workflows/tracing.ts', import.meta.url));

export function workerTracingOptions(tracing: Tracing): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      activity: [
        (ctx) => ({
          inbound: new OpenTelemetryActivityInboundInterceptor(ctx),
          outbound: new OpenTelemetryActivityOutboundInterceptor(ctx),
        }),
      ],
    },
    sinks: { exporter: makeWorkflowExporter(tracing.spanProcessor, tracing.resource) },
  };
}
