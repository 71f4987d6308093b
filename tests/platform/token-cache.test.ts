/**
 * The token cache (db/token-cache.ts) across API processes: two apps on one PostgreSQL database, as
 * `npm run cluster` runs them. After a revocation, a disabling or a role change made through one, a
 * token both had cached is refused by that one on the very next request, and by the other as soon as
 * the announcement reaches it (a NOTIFY: milliseconds); while its LISTEN is down a process caches nothing.
 */
import type { FastifyInstance } from 'fastify';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '#api/app.js';
import { LISTENER_APPLICATION_NAME, openDatabase, type DatabaseHandle } from '#db/client.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
/** The second API process's app, on the same database. */
let other: FastifyInstance;
let otherDatabase: DatabaseHandle;
let sql: postgres.Sql;
let admin: Caller;

const until = async (what: string, check: () => boolean, withinMs = 15_000) => {
  for (const started = Date.now(); !check(); await new Promise((r) => setTimeout(r, 5)))
    if (Date.now() - started > withinMs) throw new Error(`waited ${withinMs} ms for ${what}`);
};
const listening = (app: FastifyInstance) => app.tokenCache.state().listening;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  otherDatabase = await openDatabase({ url: stack.databaseUrl, dataDir: stack.config.dataDir, poolSize: 2 });
  other = await buildApp({ config: stack.config, database: otherDatabase, temporal: stack.client, logger: false });
  await other.ready();
  sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
  admin = await stack.user(['admin'], { name: 'Admin' });
  await until('both apps to listen', () => listening(stack.app) && listening(other));
});
afterAll(async () => {
  await sql?.end();
  await other?.close();
  await otherDatabase?.close();
  await stack?.close();
});

/** A request to the other API process. */
const onOther = (caller: Caller, url: string) =>
  other.inject({ method: 'GET', url, headers: { authorization: `Bearer ${caller.token}` } });
const onSame = (caller: Caller, url: string) => stack.request(caller, { method: 'GET', url });
/** Both processes answer `url` for `caller` with `status` (and so hold the token in their caches). */
const onBoth = async (caller: Caller, url: string) => [
  (await onSame(caller, url)).statusCode,
  (await onOther(caller, url)).statusCode,
];
/** The other process has heard of the change: its cache is empty (it held only this test's tokens). */
const announcedToOther = () =>
  until('the announcement to reach the other process', () => other.tokenCache.state().tokens === 0, 2_000);
const tokenIdOf = async (caller: Caller) =>
  (await sql<{ token_id: string }[]>`select token_id from api_tokens where user_id = ${caller.user.userId}`)[0]!
    .token_id;
/** Revokes a token behind every process's back (no announcement): only a database lookup sees it. */
const revokeUnannounced = async (caller: Caller) =>
  sql`update api_tokens set revoked_at = now() where user_id = ${caller.user.userId}`;

describe('the token cache', () => {
  it('serves a verified token from memory, and refuses it on the very next request once revoked, in either process', async () => {
    const operator = await stack.user(['operator']);
    expect(await onBoth(operator, '/v1/me')).toEqual([200, 200]);
    // Cached: a change nobody announced is not seen (what the announcements are for)…
    await revokeUnannounced(operator);
    expect(await onBoth(operator, '/v1/me')).toEqual([200, 200]);
    await sql`update api_tokens set revoked_at = null where user_id = ${operator.user.userId}`;
    // …and the revocation through the first process is.
    const revoked = await stack.request(admin, {
      method: 'DELETE',
      url: `/v1/users/${operator.user.userId}/tokens/${await tokenIdOf(operator)}`,
    });
    expect(revoked.statusCode).toBe(204);
    const next = await onSame(operator, '/v1/me');
    expect(next.statusCode).toBe(401);
    expect(next.json().code).toBe('unauthenticated');
    await announcedToOther();
    expect((await onOther(operator, '/v1/me')).statusCode).toBe(401);
  });

  it('refuses a disabled user on the very next request, in either process, and takes them back once enabled', async () => {
    const operator = await stack.user(['operator']);
    expect(await onBoth(operator, '/v1/me')).toEqual([200, 200]);
    const url = `/v1/users/${operator.user.userId}`;
    expect((await stack.request(admin, { method: 'PATCH', url, payload: { disabled: true } })).statusCode).toBe(200);
    expect((await onSame(operator, '/v1/me')).statusCode).toBe(401);
    await announcedToOther();
    expect((await onOther(operator, '/v1/me')).statusCode).toBe(401);
    expect((await stack.request(admin, { method: 'PATCH', url, payload: { disabled: false } })).statusCode).toBe(200);
    expect(await onBoth(operator, '/v1/me')).toEqual([200, 200]);
  });

  it('applies a removed role on the very next request, in either process', async () => {
    const person = await stack.user(['supervisor', 'operator']);
    expect(await onBoth(person, '/v1/notifications')).toEqual([200, 200]);
    const changed = await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${person.user.userId}`,
      payload: { roles: ['operator'] },
    });
    expect(changed.statusCode).toBe(200);
    expect((await onSame(person, '/v1/notifications')).statusCode).toBe(403);
    await announcedToOther();
    expect((await onOther(person, '/v1/notifications')).statusCode).toBe(403);
    expect((await onOther(person, '/v1/me')).json().roles).toEqual(['operator']);
  });

  it('caches nothing while its LISTEN is down, so a change it cannot hear of is still refused', async () => {
    const operator = await stack.user(['operator']);
    expect((await onOther(operator, '/v1/me')).statusCode).toBe(200);
    expect(other.tokenCache.state().tokens).toBeGreaterThan(0);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
              where application_name = ${LISTENER_APPLICATION_NAME} and datname = current_database()`;
    await until('the other app to notice its LISTEN is gone', () => !listening(other));
    expect(other.tokenCache.state().tokens).toBe(0);
    // Asked of the database now, and not remembered: the revocation nobody can hear of is refused.
    expect((await onOther(operator, '/v1/me')).statusCode).toBe(200);
    await revokeUnannounced(operator);
    expect((await onOther(operator, '/v1/me')).statusCode).toBe(401);
    // The LISTEN comes back by itself, and with it the cache.
    await until('the LISTEN to come back', () => listening(other));
    const fresh = await stack.user(['operator']);
    expect((await onOther(fresh, '/v1/me')).statusCode).toBe(200);
    expect(other.tokenCache.state().tokens).toBe(1);
  });
});
