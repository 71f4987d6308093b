/** Recognises "a dependency is down" errors from Temporal (gRPC) and PostgreSQL, which map to 503. */
const GRPC_UNAVAILABLE = 14;
const GRPC_DEADLINE = 4;
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);
// PostgreSQL: admin shutdown, crash shutdown, cannot connect now, too many connections.
const PG_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08003', '08006', '08001', '08004']);
/**
 * No worker at the moment: a query with "no poller seen", or an Update refused while the workflow's
 * last task failed or timed out because its worker died holding it. A matter of seconds, not a broken
 * request. The client's ServiceError says only "Failed to query Workflow"; the gRPC status that says
 * why is its cause, so every error in the chain is read.
 */
const NO_WORKER = /no poller seen for task queue|Workflow Task in failed state/i;

export function isUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 5) return false;
  const e = error as { code?: unknown; name?: string; cause?: unknown; message?: string };
  const message = e.message ?? '';
  if (e.code === GRPC_UNAVAILABLE || e.code === GRPC_DEADLINE) return true;
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || PG_UNAVAILABLE.has(e.code))) return true;
  // A database closed to connections (ALTER DATABASE … ALLOW_CONNECTIONS false, e.g. during maintenance).
  if (e.code === '55000' && /not currently accepting connections/.test(message)) return true;
  if (e.name === 'ServiceError' && /UNAVAILABLE|DEADLINE_EXCEEDED|connect/i.test(message)) return true;
  if (NO_WORKER.test(message)) return true;
  return isUnavailable(e.cause, depth + 1);
}
