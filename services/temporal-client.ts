import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
} from '@temporalio/client';
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
  return new Client({ connection, namespace: config.temporal.namespace });
}

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
