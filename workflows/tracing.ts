/**
 * The workflow side of tracing, bundled only when the worker traces (worker/tracing.ts): a span for
 * the run, for each Update and signal handled, and for each activity scheduled, carrying the trace
 * context in from the client's headers and out in the activity's. Spans leave the sandbox through the
 * `exporter` sink, using the pieces of @temporalio/interceptors-opentelemetry.
 *
 * Not that package's own workflow interceptors: they are async functions, and each async layer around
 * an Update handler or an activity delays its promise by a few microtasks — enough for the recorder's
 * loop to schedule its projection before the Update's completion, so that a history made with them
 * does not replay without them (and the golden histories not with them). Here every interceptor
 * returns the very promise it was given: the commands, and their order, are the same with or without.
 *
 * One rule of ours: a decision only records steps, and the recorder's loop — started with the workflow,
 * so in its run's span — schedules the projection that writes them. The first activity the main flow
 * schedules after decisions continues the first of those decisions' traces instead, so that a
 * decision's trace runs from its HTTP request to the projection of its steps.
 */
import '@temporalio/interceptors-opentelemetry/lib/workflow/runtime.js';
import { context, SpanStatusCode, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import {
  extractContextFromHeaders,
  headersWithContext,
} from '@temporalio/interceptors-opentelemetry/lib/instrumentation.js';
import { ContextManager } from '@temporalio/interceptors-opentelemetry/lib/workflow/context-manager.js';
import { SpanExporter } from '@temporalio/interceptors-opentelemetry/lib/workflow/span-exporter.js';
import {
  ContinueAsNew,
  workflowInfo,
  type ActivityInput,
  type DisposeInput,
  type Next,
  type SignalInput,
  type SignalWorkflowInput,
  type UpdateInput,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptors,
  type WorkflowInternalsInterceptor,
  type WorkflowOutboundCallsInterceptor,
} from '@temporalio/workflow';

let contextManager: ContextManager | undefined;
let tracer: Tracer | undefined;
function workflowTracer(): Tracer {
  if (!tracer) {
    contextManager = new ContextManager();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new SpanExporter())] });
    provider.register({ contextManager });
    tracer = provider.getTracer('fanzha-workflow');
  }
  return tracer;
}

/** Runs `run` in a new span under `parent`, ends the span when its promise settles, and returns that same promise. */
function spanned<T>(name: string, parent: Context, run: () => Promise<T>): Promise<T> {
  return workflowTracer().startActiveSpan(name, {}, parent, (span) => {
    const failed = (error: unknown) => {
      if (!(error instanceof ContinueAsNew)) {
        span.recordException(error as Error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error)?.message });
      }
      span.end();
    };
    let result: Promise<T>;
    try {
      result = run();
    } catch (error) {
      failed(error);
      throw error;
    }
    result.then(() => span.end(), failed);
    return result;
  });
}

/** The caller's context from a start's, an Update's or a signal's Temporal headers; else the current one. */
const from = (headers: UpdateInput['headers']) => extractContextFromHeaders(headers) ?? context.active();

class WorkflowTraces implements WorkflowInboundCallsInterceptor, WorkflowOutboundCallsInterceptor {
  /** The run's own span: what the main flow (not a handler) runs under. */
  private runSpan: Span | undefined;
  /** Contexts of the decisions handled since the main flow last scheduled an activity. */
  private decisions: Context[] = [];

  execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
    return spanned(`RunWorkflow:${workflowInfo().workflowType}`, from(input.headers), () => {
      this.runSpan = trace.getSpan(context.active());
      return next(input);
    });
  }

  handleUpdate(input: UpdateInput, next: Next<WorkflowInboundCallsInterceptor, 'handleUpdate'>) {
    return spanned(`HandleUpdate:${input.name}`, from(input.headers), () => this.decision(() => next(input)));
  }

  handleSignal(input: SignalInput, next: Next<WorkflowInboundCallsInterceptor, 'handleSignal'>) {
    return spanned(`HandleSignal:${input.signalName}`, from(input.headers), () => this.decision(() => next(input)));
  }

  scheduleActivity(input: ActivityInput, next: Next<WorkflowOutboundCallsInterceptor, 'scheduleActivity'>) {
    let parent = context.active();
    if (this.decisions.length > 0 && trace.getSpan(parent) === this.runSpan) {
      parent = this.decisions[0]!;
      this.decisions = [];
    }
    return spanned(`StartActivity:${input.activityType}`, parent, () =>
      next({ ...input, headers: headersWithContext(input.headers) }),
    );
  }

  signalWorkflow(input: SignalWorkflowInput, next: Next<WorkflowOutboundCallsInterceptor, 'signalWorkflow'>) {
    return spanned(`SignalWorkflow:${input.signalName}`, context.active(), () =>
      next({ ...input, headers: headersWithContext(input.headers) }),
    );
  }

  /** Noted before the handler runs (it records synchronously; the loop wakes right after); dropped if it fails. */
  private decision<T>(handle: () => Promise<T>): Promise<T> {
    const active = context.active();
    this.decisions.push(active);
    const handled = handle();
    handled.catch(() => {
      this.decisions = this.decisions.filter((c) => c !== active);
    });
    return handled;
  }
}

class ContextRelease implements WorkflowInternalsInterceptor {
  dispose(input: DisposeInput, next: Next<WorkflowInternalsInterceptor, 'dispose'>) {
    contextManager?.disable();
    next(input);
  }
}

export const interceptors = (): WorkflowInterceptors => {
  const traces = new WorkflowTraces();
  return { inbound: [traces], outbound: [traces], internals: [new ContextRelease()] };
};
