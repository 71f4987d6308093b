/**
 * Bearer-token authentication and the role matrix as a declarative route option:
 * `config: { roles: ['admin'] }`, `config: { roles: 'any' }` (any signed-in user) or `config: { public: true }`.
 * A route that declares neither is refused at start-up, so nothing is left open by accident.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import type { User } from '#db/users.js';
import { hasRole, type Role } from '#domain/roles.js';
import { Problem } from '#api/problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
    roles?: readonly Role[] | 'any';
  }
  interface FastifyRequest {
    /** Set on every non-public route before its handler runs. */
    user: User;
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/;

export default fp(
  async function authentication(app: FastifyInstance) {
    app.decorateRequest('user', null as unknown as User);

    app.addHook('onRoute', (route) => {
      const config = route.config as { public?: boolean; roles?: unknown } | undefined;
      // Swagger UI, the bank simulator and the console's static assets are public by design.
      if (route.url.startsWith('/docs') || route.url.startsWith('/sim/') || route.url.startsWith('/assets/')) return;
      if (!config?.public && !config?.roles)
        throw new Error(`route ${route.method} ${route.url} declares neither config.public nor config.roles`);
    });

    app.addHook('onRequest', async (request: FastifyRequest) => {
      const config = request.routeOptions.config;
      if (!config.roles) return;
      const header = request.headers.authorization;
      const match = header ? BEARER.exec(header) : null;
      if (!match) throw new Problem(401, 'unauthenticated', 'Send your API token as "Authorization: Bearer <token>".');
      const user = await app.users.findByToken(match[1]!);
      if (!user) throw new Problem(401, 'unauthenticated', 'This token is unknown or has been revoked.');
      request.user = user;
      if (config.roles !== 'any' && !hasRole(user.roles, config.roles))
        throw new Problem(403, 'forbidden', `This needs one of the roles: ${config.roles.join(', ')}.`);
    });
  },
  { name: 'authentication', dependencies: ['problems'] },
);
