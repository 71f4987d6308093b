/**
 * The Fastify app, built from its dependencies (no globals): tests, `npm run api` and `npm start`
 * all call buildApp with what they opened.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autoload from '@fastify/autoload';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Client } from '@temporalio/client';
import AjvCompiler from '@fastify/ajv-compiler';
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyServerOptions,
} from 'fastify';
import type { FanzhaConfig } from '#config/index.js';
import type { Database, DatabaseHandle } from '#db/client.js';
import { createTokenCache, type TokenCache } from '#db/token-cache.js';
import { createUserStore, type UserStore } from '#db/users.js';
import webConsole from '#console/index.js';
import bankSimulator from '#simulators/bank.js';
import { Problem } from './problem.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: FanzhaConfig;
    database: DatabaseHandle;
    db: Database;
    users: UserStore;
    /** Verified API tokens (api/plugins/app/authentication.ts keeps it told of every change). */
    tokenCache: TokenCache;
    temporal: Client;
  }
}

export interface AppDeps {
  config: FanzhaConfig;
  database: DatabaseHandle;
  temporal: Client;
  logger?: FastifyServerOptions['logger'] | FastifyBaseLogger;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Running from TypeScript sources (tsx, `node --import tsx`, vitest): autoload must load .ts files too,
// whichever way the loader was registered.
if (import.meta.url.endsWith('.ts')) process.env.FASTIFY_AUTOLOAD_TYPESCRIPT ??= '1';

const ajvCompilers = AjvCompiler();
type Validate = ReturnType<ReturnType<typeof AjvCompiler>>;
/** The default validators, except that a JSON body is taken as sent (no type coercion). */
function jsonBodiesAsSent(externalSchemas: unknown, options: { customOptions?: object } = {}) {
  const coercing: Validate = ajvCompilers(externalSchemas as never, options as never);
  const asSent: Validate = ajvCompilers(
    externalSchemas as never,
    {
      ...options,
      customOptions: { ...options.customOptions, coerceTypes: false },
    } as never,
  );
  return (route: Parameters<Validate>[0] & { httpPart?: string }) =>
    route.httpPart === 'body' ? asSent(route) : coercing(route);
}

export async function buildApp(deps: AppDeps) {
  const loggerOption = deps.logger ?? { level: deps.config.logLevel };
  const app = Fastify({
    ...(typeof (loggerOption as FastifyBaseLogger).child === 'function'
      ? { loggerInstance: loggerOption as FastifyBaseLogger }
      : { logger: loggerOption as FastifyServerOptions['logger'] }),
    bodyLimit: 256 * 1024,
    // Off unless configured: X-Forwarded-For then names the client for the per-address limits.
    trustProxy: deps.config.trustProxy,
    // Each bad field is reported, and unknown fields are refused rather than silently dropped.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    // Query strings and paths are text, so their numbers and booleans are coerced; a JSON body means what it
    // says: "3000000", true or [5] where a number of fen belongs is a 400, never a guess.
    schemaController: { compilersFactory: { buildValidator: jsonBodiesAsSent } },
    // A URL Fastify cannot even route (bad percent-encoding) is bad input like any other: problem+json.
    frameworkErrors: (error, _request, reply) => {
      const problem = new Problem(400, 'validation_failed', `The URL is not valid: ${error.message}`);
      void (reply as FastifyReply).status(400).type('application/problem+json').send(problem.toJSON());
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Traces (OTEL_*, services/tracing.ts), registered first so that every hook and route after it runs
  // inside the request's span; the health probes stay out. Off, @fastify/otel is not even loaded.
  if (deps.config.tracing.enabled) {
    const { FastifyOtelInstrumentation } = await import('@fastify/otel');
    const probes = new Set(['/healthz', '/readyz']);
    await app.register(
      new FastifyOtelInstrumentation({ ignorePaths: (route) => probes.has(route.url.split('?')[0]!) }).plugin(),
    );
  }
  // JSON only: anything else is a 415 that says so, not a confusing schema error.
  app.removeContentTypeParser('text/plain');
  // A POST without a body means "no fields": required ones are then reported by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.method === 'POST') request.body = {};
  });
  app.decorate('config', deps.config);
  app.decorate('database', deps.database);
  app.decorate('db', deps.database.db);
  // A change made here empties this process's cache before it is answered; other processes hear of it by NOTIFY.
  const users = createUserStore(deps.database.db, { authChanged: () => tokenCache.changed() });
  const tokenCache = createTokenCache({ findByToken: users.findByToken, ttlMs: deps.config.tokenCacheMs });
  app.decorate('users', users);
  app.decorate('tokenCache', tokenCache);
  app.decorate('temporal', deps.temporal);

  await app.register(autoload, { dir: path.join(here, 'plugins/app'), encapsulate: false, forceESM: true });
  await app.register(autoload, { dir: path.join(here, 'plugins/external'), encapsulate: false, forceESM: true });
  // Only when asked for (the embedded `npm start`, FANZHA_BANK_SIMULATOR=1): never beside a real gateway.
  if (deps.config.bankSimulator) {
    app.log.warn('the bank simulator answers every bank instruction under /sim/bank: no real bank learns of a stop');
    await app.register(bankSimulator, { prefix: '/sim/bank' });
  }
  await app.register(autoload, {
    dir: path.join(here, 'routes'),
    routeParams: true,
    forceESM: true,
    ignorePattern: /^.*(?:\.test|\.spec)\.ts$/,
  });
  // The web console: the same process, the same services, its own sessions (DESIGN.md §3).
  await app.register(webConsole, {
    services: app.services,
    timeZone: deps.config.timeZone,
    centerName: deps.config.centerName,
    temporalUi: deps.config.temporal.webUiUrl
      ? { url: deps.config.temporal.webUiUrl, namespace: deps.config.temporal.namespace }
      : null,
  });
  return app as unknown as FastifyInstance;
}

export type App = Awaited<ReturnType<typeof buildApp>>;
