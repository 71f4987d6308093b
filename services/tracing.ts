/**
 * OpenTelemetry for one process, only when configured (FanzhaConfig.tracing): a tracer provider with
 * the OTLP exporter, registered globally so that @fastify/otel, the Temporal client interceptor and
 * the worker's interceptors all find it. Off, nothing is loaded, registered or wrapped.
 */
import type { Resource } from '@opentelemetry/resources';
import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { FanzhaConfig } from '#config/index.js';

export interface Tracing {
  resource: Resource;
  /** What the worker hands workflow spans to (they are made in the workflow sandbox and leave through a sink). */
  spanProcessor: SpanProcessor;
  /** Sends what is buffered and stops. */
  shutdown(): Promise<void>;
}

export async function startTracing(
  config: FanzhaConfig['tracing'],
  serviceName: string,
  /** Instead of OTLP (tests: an in-memory exporter); spans then go out one by one, not in batches. */
  exporter?: SpanExporter,
): Promise<Tracing | null> {
  if (!config.enabled) return null;
  const [{ AsyncLocalStorageContextManager }, { Resource }, base, { OTLPTraceExporter }] = await Promise.all([
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-proto'),
  ]);
  const resource = new Resource({ 'service.name': config.serviceName ?? serviceName });
  const spanProcessor = exporter
    ? new base.SimpleSpanProcessor(exporter)
    : new base.BatchSpanProcessor(new OTLPTraceExporter());
  const provider = new base.BasicTracerProvider({ resource, spanProcessors: [spanProcessor] });
  // W3C trace context (traceparent) in and out; the context follows async calls within the process.
  provider.register({ contextManager: new AsyncLocalStorageContextManager().enable() });
  return { resource, spanProcessor, shutdown: () => provider.shutdown() };
}
