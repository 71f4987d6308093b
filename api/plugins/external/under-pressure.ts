import underPressure from '@fastify/under-pressure';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '#api/problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A route that must answer even under pressure (liveness, metrics) sets a handler that lets it through. */
    pressureHandler?: () => void;
  }
}

/** What every request gets while the process is overloaded: problem+json through the problems handler. */
class Overloaded extends Problem {
  constructor() {
    super(503, 'unavailable', 'The API is overloaded right now; retry in a few seconds.');
  }
}

/**
 * Load shedding, as fastify/demo does it: while the event loop lags past the configured delay (or is
 * nearly saturated) every request is answered at once with 503 + Retry-After, so clients back off
 * instead of piling onto a process that would answer each of them too late. /healthz opts out.
 */
export default fp(
  async (app: FastifyInstance) => {
    if (app.config.maxEventLoopDelayMs === 0) return;
    await app.register(underPressure, {
      maxEventLoopDelay: app.config.maxEventLoopDelayMs,
      maxEventLoopUtilization: 0.98,
      retryAfter: 2,
      customError: Overloaded,
    });
  },
  { name: 'under-pressure', dependencies: ['problems'] },
);
