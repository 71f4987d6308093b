/**
 * A worker's part of a trace (services/tracing.ts): a span per activity run, continuing the context
 * its workflow put in the activity's headers, and the workflow's own spans, which are made inside the
 * sandbox (workflows/tracing.ts) and leave it through the `exporter` sink. The workflow interceptors
 * are bundled with the workflows when the worker bundles them itself; a prebuilt bundle
 * (FANZHA_WORKFLOW_BUNDLE) carries them only if it was built with TRACING_WORKFLOW_INTERCEPTORS as a
 * workflowInterceptorModule — otherwise its workflows (and so their activities) are left out of the traces.
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

/** `bundled`: the worker bundles workflows/ itself and adds the workflow interceptors to it. */
export function workerTracingOptions(
  tracing: Tracing,
  { bundled }: { bundled: boolean },
): Pick<WorkerOptions, 'interceptors' | 'sinks'> {
  return {
    interceptors: {
      workflowModules: bundled ? [TRACING_WORKFLOW_INTERCEPTORS] : [],
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
