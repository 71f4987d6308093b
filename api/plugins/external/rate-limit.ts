import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { Problem } from '#api/problem.js';

/** Per bearer token (a busy platform client shares nothing with an operator), else per address. */
export default fp(
  async (app: FastifyInstance) => {
    await app.register(rateLimit, {
      max: app.config.rateLimitPerMinute,
      timeWindow: 60_000,
      keyGenerator: (request: FastifyRequest) => request.headers.authorization ?? request.ip,
      allowList: (request: FastifyRequest) => request.url === '/healthz' || request.url === '/readyz',
      errorResponseBuilder: (_request, context) =>
        new Problem(429, 'rate_limited', `At most ${context.max} requests per minute; retry after ${context.after}.`),
    });
  },
  { name: 'rate-limit', dependencies: ['problems'] },
);
