import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';

declare module 'fastify' {
  interface FastifyInstance {
    /** This app's Prometheus registry (not prom-client's global one: tests build several apps in one process); only with FANZHA_METRICS_TOKEN. */
    metricsRegistry: Registry;
  }
}

/**
 * Request rate and latency per route and status (`http_request_duration_seconds`: its `_count` is the
 * rate) and the process's own figures (CPU, memory, event-loop lag, GC), served by api/routes/metrics.ts.
 * The route label is the route's pattern (`/v1/alerts/:alertId`), never the URL, so IDs cannot make
 * a label set per case; a URL no route matches counts as `unmatched`.
 */
export default fp(
  async (app: FastifyInstance) => {
    // Nothing to serve them (no FANZHA_METRICS_TOKEN): no collectors, no per-request hook.
    if (!app.config.metrics.token) return;
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    const duration = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP requests by method, route and status: duration in seconds (the _count is the request rate)',
      labelNames: ['method', 'route', 'status_code'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    });
    app.decorate('metricsRegistry', registry);
    app.addHook('onResponse', async (request, reply) => {
      duration.observe(
        { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
        reply.elapsedTime / 1000,
      );
    });
  },
  { name: 'prometheus' },
);
