import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ClientInterceptors,
  type ConnectionOptions,
} from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry/lib/client/index.js';
import type { FanzhaConfig } from '#config/index.js';

/**
 * A lazy connection: the API starts (and /readyz can say what is down) even while Temporal is
 * unreachable, and reconnects by itself when it comes back.
 */
export function createTemporalClient(config: FanzhaConfig): Client {
  const connection = Connection.lazy({
    ...(config.temporal.connect.connectionOptions as ConnectionOptions),
    interceptors: [makeGrpcRetryInterceptor(answerUpdateLimitAtOnce)],
  });
  return new Client({ connection, namespace: config.temporal.namespace, interceptors: clientInterceptors(config) });
}

/**
 * With tracing on, every start, Update and signal is a span of the request that made it, and carries
 * its context to the workflow in a Temporal header (services/tracing.ts); off, none.
 */
export const clientInterceptors = (config: Pick<FanzhaConfig, 'tracing'>): ClientInterceptors =>
  config.tracing.enabled ? { workflow: [new OpenTelemetryWorkflowClientInterceptor()] } : {};

const RESOURCE_EXHAUSTED = 8;
const retry = defaultGrpcRetryOptions();
/**
 * The SDK's retries, except that a workflow's Update limit is not retried here (for up to ~45 s, the
 * SDK's default): the API answers 503 with Retry-After at once and the caller, not a held request, retries.
 */
export const answerUpdateLimitAtOnce: typeof retry = {
  delayFunction: retry.delayFunction,
  retryableDecider: (attempt, status) =>
    !(status.code === RESOURCE_EXHAUSTED && /in-flight updates/.test(status.details)) &&
    retry.retryableDecider(attempt, status),
};
