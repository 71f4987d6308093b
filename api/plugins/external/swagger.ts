import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ProblemSchema } from '#api/schemas/common.js';

/**
 * OpenAPI generated from the route schemas, at /openapi.json, and Swagger UI at /docs. `npm run openapi`
 * writes the same document to openapi.json, `npm run lint` checks it with Redocly's recommended rules.
 */
export default fp(
  async (app: FastifyInstance) => {
    app.addSchema(ProblemSchema);
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Fanzha (反诈) API',
          description:
            'Early-warning dissuasion and emergency stop-payment workflows of the anti-fraud center. Every refusal is RFC 9457 `application/problem+json` with a machine `code`; decisions and filings take an `Idempotency-Key`.',
          version: '1.0.0',
        },
        servers: [
          { url: '/', description: 'the API that serves this document' },
          { url: 'http://127.0.0.1:3000', description: '`npm start` on this machine (HOST, PORT)' },
        ],
        tags: [
          { name: 'alerts', description: 'Early-warning instructions (预警指令): the queue, calls and visits' },
          {
            name: 'stop-payments',
            description: 'Emergency stop-payments (紧急止付), their approval and held accounts',
          },
          { name: 'notifications', description: 'Escalations and other notifications, and their delivery' },
          { name: 'search', description: '"Seen before?" by victim phone or receiving account' },
          { name: 'statistics', description: 'The center in numbers for a period' },
          { name: 'audit', description: 'Timelines, raw histories, replays, the archive and the access logs' },
          { name: 'users', description: 'Staff, roles, tokens and enrollment links' },
          { name: 'health', description: 'Liveness and readiness probes' },
        ],
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
        security: [{ bearer: [] }],
      },
      // Shared schemas keep their $id as their name (#/components/schemas/Problem), referenced, not copied.
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
      // The JSON API is the routes that declare who may call them (api/plugins/app/authentication.ts); the
      // console's pages (config.console) and the bank simulator under /sim/ (a stand-in for the banks'
      // gateway, embedded demo only) are not part of it, so every deployment serves the same document.
      transform: ({ schema, url, route }) => {
        const config = route.config as { public?: boolean; roles?: unknown; console?: unknown } | undefined;
        const documented = Boolean((config?.public || config?.roles) && !config.console && !url.startsWith('/sim/'));
        return { schema: documented ? schema : { ...schema, hide: true }, url };
      },
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  },
  { name: 'swagger' },
);
