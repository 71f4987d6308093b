/**
 * Bearer-token authentication and the role matrix as a declarative route option:
 * `config: { roles: ['admin'] }`, `config: { roles: 'any' }` (any signed-in user) or `config: { public: true }`.
 * A route that declares neither is refused at start-up, so nothing is left open by accident.
 * Verified tokens are cached (db/token-cache.ts); every process LISTENs for the changes announced
 * by the others, and while it cannot, its cache stays empty.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { AUTH_CHANGES_CHANNEL, type User } from '#db/users.js';
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
  interface FastifyInstance {
    /** The per-address budget of failed authentications, for a route with a token of its own (/metrics). */
    authFailures: AuthFailures;
  }
}

interface AuthFailures {
  /** 429 with Retry-After when the request's address failed too often in the last minute. */
  refuseIfBlocked(request: FastifyRequest, reply: FastifyReply): void;
  failed(request: FastifyRequest): void;
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/;
const WINDOW_MS = 60_000;
/** Addresses remembered at most (the oldest go first): a flood from many addresses cannot grow the map without end. */
const MAX_ADDRESSES = 100_000;

/**
 * Failed authentications per address over the last minute. Past the budget an address is refused with
 * 429 before its token is even looked up: guessing tokens costs the database nothing, and a flood of
 * bad tokens cannot hide behind the per-token rate limit by changing the token each time.
 */
function createFailureLedger(budget: number) {
  const failures = new Map<string, number[]>();
  const recent = (address: string, now: number) => {
    const kept = (failures.get(address) ?? []).filter((at) => now - at < WINDOW_MS);
    if (kept.length === 0) failures.delete(address);
    else failures.set(address, kept);
    return kept;
  };
  return {
    /** Seconds until the address may try again, or 0. */
    blockedFor(address: string, now = Date.now()): number {
      const kept = recent(address, now);
      return kept.length >= budget ? Math.ceil((kept[0]! + WINDOW_MS - now) / 1000) : 0;
    },
    failed(address: string, now = Date.now()) {
      const kept = recent(address, now);
      failures.delete(address);
      failures.set(address, [...kept, now]);
      for (const oldest of failures.keys()) {
        if (failures.size <= MAX_ADDRESSES) break;
        failures.delete(oldest);
      }
    },
  };
}

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

    const tokens = app.tokenCache;
    if (app.config.tokenCacheMs > 0) {
      const announcements = app.database.listen(AUTH_CHANGES_CHANNEL, {
        notified: () => tokens.changed(),
        listening: () => tokens.listening(),
        lost: () => {
          tokens.lost();
          app.log.warn('lost the LISTEN for token changes: every request asks the database until it is back');
        },
      });
      app.addHook('onClose', () => announcements.stop());
    }

    const ledger = createFailureLedger(app.config.authFailuresPerMinute);
    const failures: AuthFailures = {
      refuseIfBlocked(request, reply) {
        const wait = ledger.blockedFor(request.ip);
        if (wait > 0) {
          void reply.header('retry-after', String(wait));
          throw new Problem(
            429,
            'rate_limited',
            `Too many failed authentications from this address; retry after ${wait} s.`,
          );
        }
      },
      failed: (request) => ledger.failed(request.ip),
    };
    app.decorate('authFailures', failures);
    app.addHook('onRequest', async (request: FastifyRequest, reply) => {
      const config = request.routeOptions.config;
      if (!config.roles) return;
      failures.refuseIfBlocked(request, reply);
      const header = request.headers.authorization;
      const match = header ? BEARER.exec(header) : null;
      if (!match) {
        ledger.failed(request.ip);
        throw new Problem(401, 'unauthenticated', 'Send your API token as "Authorization: Bearer <token>".');
      }
      const user = await tokens.findByToken(match[1]!);
      if (!user) {
        ledger.failed(request.ip);
        throw new Problem(401, 'unauthenticated', 'This token is unknown or has been revoked.');
      }
      request.user = user;
      if (config.roles !== 'any' && !hasRole(user.roles, config.roles))
        throw new Problem(403, 'forbidden', `This needs one of the roles: ${config.roles.join(', ')}.`);
    });
  },
  { name: 'authentication', dependencies: ['problems'] },
);
