/**
 * The one address in front of the cluster's API processes: @fastify/reply-from with an undici
 * BalancedPool over them (round robin; an upstream that fails is weighted down until it answers again).
 * Chosen over a hand-written proxy and over @fastify/http-proxy (one upstream per registration) because
 * reply-from balances by itself, streams bodies both ways (the console's forms, its Server-Sent Events)
 * and is kept by the Fastify team. The APIs trust it for the client's address (FANZHA_TRUST_PROXY).
 */
import replyFrom from '@fastify/reply-from';
import Fastify, { type FastifyInstance } from 'fastify';
import { Problem } from '#api/problem.js';

export interface BalancerOptions {
  host: string;
  port: number;
  /** The API processes' origins, e.g. http://127.0.0.1:3101. */
  upstreams: string[];
}

export async function startBalancer(options: BalancerOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, trustProxy: false });
  // Bodies pass through untouched, whatever their type: the API parses and validates them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
  await app.register(replyFrom, {
    base: options.upstreams.length === 1 ? options.upstreams[0]! : options.upstreams,
    // Decisions wait for the workflow's answer; the live stream never ends.
    undici: { headersTimeout: 120_000, bodyTimeout: 0 },
    destroyAgent: true,
  });
  const unavailable = new Problem(
    503,
    'unavailable',
    'No API process answered; retry shortly (with the same Idempotency-Key).',
  ).toJSON();
  app.all('/*', (request, reply) =>
    reply.from(request.url, {
      rewriteRequestHeaders: (req, headers) => ({
        ...headers,
        'x-forwarded-for': [headers['x-forwarded-for'], req.ip].filter(Boolean).join(', '),
        'x-forwarded-proto': req.protocol,
        'x-forwarded-host': headers.host ?? '',
      }),
      onError: (res) => res.status(503).header('retry-after', '1').type('application/problem+json').send(unavailable),
    }),
  );
  await app.listen({ host: options.host, port: options.port });
  return app;
}
