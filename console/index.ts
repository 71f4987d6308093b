/**
 * The web console: a second HTTP entry point on the same services as the JSON API — the same
 * decisions, refusals, station scoping, four-eyes and masking — for people, in Chinese by default.
 * Server-rendered HTML, htmx for interactions, Server-Sent Events for live pages; sessions in the
 * database behind an HttpOnly, SameSite=Strict cookie; CSRF on every state change.
 *
 * Every console route declares `config.console`: `'public'`, `'signed-in'` or the roles that may
 * open it. A route that declares nothing is refused at start-up, so nothing is left open by accident.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import formbody from '@fastify/formbody';
import sseModule, { type SSEPluginOptions } from '@fastify/sse';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { User } from '#db/users.js';
import { isRefusal, Refusal, REFUSAL_STATUS } from '#domain/refusal.js';
import { hasRole, type Role } from '#domain/roles.js';
import type { Services } from '#services/index.js';
import type { ConsoleSession } from '#services/sessions.js';
import { pickLanguage, sayRefusal, translator, type Language } from './i18n.js';
import { errorNotice, type View } from './layout.js';
import admin from './admin.js';
import audit from './audit.js';
import board from './board.js';
import calltaker from './calltaker.js';
import cases from './cases.js';
import live from './live.js';
import notices from './notices.js';
import operator from './operator.js';
import search from './search.js';
import signIn from './sign-in.js';
import stats from './stats.js';
import station from './station.js';

export type ConsoleAccess = 'public' | 'signed-in' | readonly Role[];

declare module 'fastify' {
  interface FastifyContextConfig {
    console?: ConsoleAccess;
  }
  interface FastifyRequest {
    /** The console session, set before a console route's handler runs (null on public pages). */
    consoleSession: ConsoleSession | null;
    /** The live feed's newest id when a page began to render: its stream starts there, so nothing in between is missed. */
    liveFrom: number | null;
  }
}

export const SESSION_COOKIE = 'fz_session';

export interface ConsoleOptions {
  services: Services;
  /** The center's time zone for every time shown (default Asia/Shanghai). */
  timeZone: string;
  /** The center's name on printed notices. */
  centerName: string;
  /** The Temporal Web UI, for the auditor's link to a case's workflow; null when there is none to open. */
  temporalUi: { url: string; namespace: string } | null;
}

const here = path.dirname(fileURLToPath(import.meta.url));
// Node hands an ES module the package's module.exports (the fastify-plugin wrapped plugin); its types say otherwise.
const sse = sseModule as unknown as FastifyPluginAsync<SSEPluginOptions>;
const htmxDist = path.join(path.dirname(fileURLToPath(import.meta.resolve('htmx.org/package.json'))), 'dist');

/** The person's language: the session's choice, else the language cookie, else Accept-Language. */
export const languageOf = (request: FastifyRequest): Language =>
  pickLanguage(request.consoleSession?.language ?? request.cookies.fz_lang, request.headers['accept-language']);

/** What a render needs: words, the person, a fresh CSRF token. */
export function viewFor(request: FastifyRequest, reply: FastifyReply): View {
  const language = languageOf(request);
  return {
    t: translator(language),
    language,
    user: request.consoleSession?.user ?? null,
    csrf: reply.generateCsrf(),
    liveFrom: request.liveFrom,
    path: request.url.split('?')[0] ?? '/',
  };
}

export const userOf = (request: FastifyRequest): User => {
  const user = request.consoleSession?.user;
  if (!user) throw new Refusal('unauthenticated', 'Sign in first.');
  return user;
};

export const isHtmx = (request: FastifyRequest) => request.headers['hx-request'] === 'true';

export default async function consolePlugin(app: FastifyInstance, options: ConsoleOptions) {
  const { services } = options;
  app.decorate('consoleOptions', options);
  app.decorateRequest('consoleSession', null);
  app.decorateRequest('liveFrom', null);

  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/assets/')) return;
    if (!route.config?.console)
      throw new Error(`console route ${route.method} ${route.url} declares no config.console`);
  });

  await app.register(cookie);
  await app.register(formbody, { bodyLimit: 64 * 1024 });
  await app.register(csrf, {
    sessionPlugin: '@fastify/cookie',
    cookieKey: 'fz_csrf',
    cookieOpts: { path: '/', httpOnly: true, sameSite: 'strict', signed: false },
  });
  await app.register(sse, { heartbeatInterval: 15_000 });
  await app.register(fastifyStatic, { root: path.join(here, 'assets'), prefix: '/assets/', decorateReply: false });
  await app.register(fastifyStatic, { root: htmxDist, prefix: '/assets/htmx/', decorateReply: false });

  // Who is signed in: every console request reads its session (a cookie of its own, never a bearer token).
  app.addHook('onRequest', async (request, reply) => {
    const access = request.routeOptions.config.console;
    if (!access) return;
    const token = request.cookies[SESSION_COOKIE];
    request.consoleSession = token ? await services.sessions.session(token) : null;
    if (access === 'public') return;
    if (!request.consoleSession) {
      if (token) reply.clearCookie(SESSION_COOKIE, { path: '/' });
      const signInPage = token ? '/sign-in?expired=1' : '/sign-in';
      if (isHtmx(request)) return reply.header('hx-redirect', signInPage).status(401).send('');
      if (request.headers.accept === 'text/event-stream') return reply.status(401).send('');
      return reply.redirect(signInPage, 303);
    }
    // Read before the page reads anything it shows.
    if (request.method === 'GET' && !isHtmx(request)) request.liveFrom = await services.live.newest();
    if (access !== 'signed-in' && !hasRole(request.consoleSession.user.roles, access)) {
      const t = translator(languageOf(request));
      return reply
        .status(403)
        .type('text/html; charset=utf-8')
        .send(errorNotice(t('error.forbidden')));
    }
  });

  // Every state change proves it comes from a page this console rendered.
  app.addHook('preHandler', (request, reply, done) => {
    if (request.method === 'POST' && request.routeOptions.config.console)
      return app.csrfProtection(request, reply, done);
    done();
  });

  // A refusal is said in place, in the person's language, never as raw JSON (htmx swaps 4xx answers in).
  app.setErrorHandler((error: Error & { code?: string; statusCode?: number }, request, reply) => {
    const t = translator(languageOf(request));
    const say = (status: number, text: string) =>
      reply.status(status).type('text/html; charset=utf-8').send(errorNotice(text));
    if (isRefusal(error)) {
      return say(REFUSAL_STATUS[error.code], error.code === 'unauthenticated' ? error.detail : sayRefusal(error, t));
    }
    if (error.code?.startsWith('FST_CSRF')) return say(403, t('error.csrf'));
    if (error.statusCode && error.statusCode < 500)
      return say(error.statusCode, t('error.generic', { detail: error.message }));
    request.log.error({ err: error }, 'console request failed');
    return say(500, t('error.generic', { detail: 'internal error (logged)' }));
  });

  await app.register(signIn, options);
  await app.register(operator, options);
  await app.register(station, options);
  await app.register(cases, options);
  await app.register(calltaker, options);
  await app.register(admin, options);
  await app.register(notices, options);
  await app.register(stats, options);
  await app.register(audit, options);
  await app.register(board, options);
  await app.register(search, options);
  await app.register(live, options);
}

declare module 'fastify' {
  interface FastifyInstance {
    consoleOptions: ConsoleOptions;
  }
}
