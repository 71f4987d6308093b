import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES } from '#domain/roles.js';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { adminLog, notifications } from '#db/schema.js';
import { createUserStore } from '#db/users.js';
import { loadConfig } from '#config/index.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let admin: Caller;

beforeAll(async () => {
  stack = await startStack({ worker: false });
  admin = await stack.user(['admin'], { name: 'Admin' });
});
afterAll(() => stack?.close());

const problem = (response: { statusCode: number; headers: Record<string, unknown>; json(): any }) => {
  expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
  return response.json();
};

describe('users and tokens', () => {
  const userRoutes = [
    { method: 'POST', url: '/v1/users', payload: { name: 'x', roles: ['operator'] } },
    { method: 'GET', url: '/v1/users' },
    { method: 'POST', url: '/v1/users/admin/tokens', payload: {} },
    { method: 'DELETE', url: '/v1/users/admin/tokens/tok_x' },
    { method: 'PATCH', url: '/v1/users/admin', payload: { disabled: true } },
    { method: 'POST', url: '/v1/users/admin/enrollments', payload: { resetPassword: true } },
    { method: 'GET', url: '/v1/users/admin/tokens' },
  ] as const;

  it('answers 401 without a token or with an unknown one, on every users route', async () => {
    for (const route of userRoutes) {
      const none = await stack.request(null, route);
      expect(none.statusCode, `${route.method} ${route.url}`).toBe(401);
      expect(problem(none).code).toBe('unauthenticated');
      const unknown = await stack.request({ user: admin.user, token: 'fz_not-a-real-token' }, route);
      expect(unknown.statusCode).toBe(401);
    }
    const me = await stack.request(null, { method: 'GET', url: '/v1/me' });
    expect(me.statusCode).toBe(401);
  });

  it('refuses an address that keeps failing to authenticate, before looking up its tokens', async () => {
    const strict = await startStack({
      worker: false,
      env: { FANZHA_AUTH_FAILURES_PER_MINUTE: '5', FANZHA_RATE_LIMIT_PER_MINUTE: '8' },
    });
    try {
      const me = (authorization?: string) =>
        strict.request(null, { method: 'GET', url: '/v1/me', headers: authorization ? { authorization } : {} });
      // Five failures, each with another made-up token (changing the token buys nothing).
      for (let i = 0; i < 5; i++) expect((await me(`Bearer fz_guess-${i}`)).statusCode).toBe(401);
      const refused = await me('Bearer fz_guess-5');
      expect(refused.statusCode).toBe(429);
      expect(refused.json().code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect((await me()).statusCode).toBe(429);
      // Probing for routes is throttled too: the 404 answer has the same budget as any request.
      const probes: number[] = [];
      for (let i = 0; i < 10; i++)
        probes.push((await strict.request(null, { method: 'GET', url: `/v1/probe-${i}` })).statusCode);
      expect(probes).toContain(404);
      expect(probes.at(-1)).toBe(429);
    } finally {
      await strict.close();
    }
  });

  it('keys per-address limits on X-Forwarded-For only from a trusted proxy (FANZHA_TRUST_PROXY, off by default)', async () => {
    const limits = { FANZHA_AUTH_FAILURES_PER_MINUTE: '3', FANZHA_RATE_LIMIT_PER_MINUTE: '1000' };
    const from = (stack: Stack, forwardedFor: string) =>
      stack.request(null, {
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: 'Bearer fz_guess', 'x-forwarded-for': forwardedFor },
      });
    const behindProxy = await startStack({ worker: false, env: { ...limits, FANZHA_TRUST_PROXY: '127.0.0.1' } });
    const direct = await startStack({ worker: false, env: limits });
    try {
      // Behind the proxy: one client's failures spend its own budget, not its neighbour's.
      for (let i = 0; i < 3; i++) expect((await from(behindProxy, '203.0.113.7')).statusCode).toBe(401);
      expect((await from(behindProxy, '203.0.113.7')).statusCode).toBe(429);
      expect((await from(behindProxy, '198.51.100.9')).statusCode).toBe(401);
      // Without a trusted proxy the header is anyone's word: the socket's address decides.
      for (let i = 0; i < 3; i++) expect((await from(direct, `203.0.113.${i}`)).statusCode).toBe(401);
      expect((await from(direct, '198.51.100.9')).statusCode).toBe(429);
    } finally {
      await behindProxy.close();
      await direct.close();
    }
    expect(() => loadConfig({ FANZHA_TRUST_PROXY: 'everyone' })).toThrow(/FANZHA_TRUST_PROXY/);
    expect(loadConfig({ FANZHA_TRUST_PROXY: '10.0.0.0/8, loopback' }).trustProxy).toBe('10.0.0.0/8, loopback');
    expect(loadConfig({}).trustProxy).toBe(false);
  });

  it('answers 403 forbidden to every role but admin on every users route', async () => {
    for (const role of ROLES.filter((r) => r !== 'admin')) {
      const caller = await stack.user([role], role === 'station' ? { stationId: 'st-1' } : {});
      for (const route of userRoutes) {
        const response = await stack.request(caller, route);
        expect(response.statusCode, `${role} ${route.method} ${route.url}`).toBe(403);
        expect(problem(response).code).toBe('forbidden');
      }
    }
  });

  it('lets an admin create a user, issue a token that works, and revoke it at once', async () => {
    const created = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      payload: { name: '李警官', roles: ['station'], stationId: 'haibowan-01' },
    });
    expect(created.statusCode).toBe(201);
    const user = created.json();
    expect(user).toMatchObject({ name: '李警官', roles: ['station'], stationId: 'haibowan-01' });

    const issued = await stack.request(admin, {
      method: 'POST',
      url: `/v1/users/${user.userId}/tokens`,
      payload: { label: 'desk phone' },
    });
    expect(issued.statusCode).toBe(201);
    const { token, tokenId } = issued.json();
    expect(token).toMatch(/^fz_/);

    const officer = { user, token };
    const me = await stack.request(officer, { method: 'GET', url: '/v1/me' });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual(user);

    const revoked = await stack.request(admin, { method: 'DELETE', url: `/v1/users/${user.userId}/tokens/${tokenId}` });
    expect(revoked.statusCode).toBe(204);
    expect((await stack.request(officer, { method: 'GET', url: '/v1/me' })).statusCode).toBe(401);
    // Revoking again is harmless; an unknown token is 404.
    expect(
      (await stack.request(admin, { method: 'DELETE', url: `/v1/users/${user.userId}/tokens/${tokenId}` })).statusCode,
    ).toBe(204);
    const unknown = await stack.request(admin, { method: 'DELETE', url: `/v1/users/${user.userId}/tokens/tok_nope` });
    expect(unknown.statusCode).toBe(404);
    expect(problem(unknown).code).toBe('not_found');
  });

  it('disables a user: their token stops at once, and works again when enabled; an admin cannot disable themselves', async () => {
    const operator = await stack.user(['operator'], { name: '孙接线员' });
    const me = { method: 'GET', url: '/v1/me' } as const;
    expect((await stack.request(operator, me)).statusCode).toBe(200);
    const disabled = await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${operator.user.userId}`,
      payload: { disabled: true },
    });
    expect(disabled.statusCode, disabled.body).toBe(200);
    expect((await stack.request(operator, me)).statusCode).toBe(401);
    const listed = (await stack.request(admin, { method: 'GET', url: '/v1/users?limit=200' })).json().items;
    expect(listed.find((u: { userId: string }) => u.userId === operator.user.userId)).toMatchObject({
      disabledBy: admin.user.userId,
      disabledAt: expect.any(String),
      tokens: [expect.objectContaining({ revokedAt: null })],
    });
    await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${operator.user.userId}`,
      payload: { disabled: false },
    });
    expect((await stack.request(operator, me)).statusCode).toBe(200);

    const self = await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${admin.user.userId}`,
      payload: { disabled: true },
    });
    expect(self.statusCode).toBe(409);
    expect((await stack.request(admin, me)).statusCode).toBe(200);
  });

  it('changes roles and station under the same rules as creation, naming the field refused', async () => {
    const person = await stack.user(['operator']);
    const url = `/v1/users/${person.user.userId}`;
    const noStation = await stack.request(admin, { method: 'PATCH', url, payload: { roles: ['station'] } });
    expect(noStation.statusCode).toBe(400);
    expect(problem(noStation).errors[0].pointer).toBe('/stationId');
    const empty = await stack.request(admin, { method: 'PATCH', url, payload: {} });
    expect(empty.statusCode).toBe(400);
    const moved = await stack.request(admin, {
      method: 'PATCH',
      url,
      payload: { roles: ['station'], stationId: 'jimei-03' },
    });
    expect(moved.json()).toMatchObject({ roles: ['station'], stationId: 'jimei-03' });
    const back = await stack.request(admin, { method: 'PATCH', url, payload: { roles: ['operator'] } });
    expect(back.json()).toMatchObject({ roles: ['operator'], stationId: null });
    const unknown = await stack.request(admin, {
      method: 'PATCH',
      url: '/v1/users/nobody-here',
      payload: { name: 'x' },
    });
    expect(unknown.statusCode).toBe(404);
  });

  it('keeps every privileged act on an append-only admin log that auditors read', async () => {
    const auditor = await stack.user(['auditor']);
    const as = (payload: object, url = '/v1/users', method: 'POST' | 'PATCH' = 'POST') =>
      stack.request(admin, { method, url, payload });
    const created = (await as({ userId: 'log.subject', name: '被记录者', roles: ['operator'] })).json();
    await as({ roles: ['approver'] }, `/v1/users/${created.userId}`, 'PATCH');
    const issued = (await as({ label: '坐席' }, `/v1/users/${created.userId}/tokens`)).json();
    await stack.request(admin, { method: 'DELETE', url: `/v1/users/${created.userId}/tokens/${issued.tokenId}` });
    await as({}, `/v1/users/${created.userId}/enrollments`);
    await as({ resetPassword: true }, `/v1/users/${created.userId}/enrollments`);
    await as({ disabled: true }, `/v1/users/${created.userId}`, 'PATCH');

    expect((await stack.request(admin, { method: 'GET', url: '/v1/audit/admin-log' })).statusCode).toBe(403);
    const log = await stack.request(auditor, {
      method: 'GET',
      url: `/v1/audit/admin-log?targetUserId=${created.userId}`,
    });
    expect(log.statusCode, log.body).toBe(200);
    const acts = log.json().items.map((e: { actorUserId: string; action: string }) => [e.actorUserId, e.action]);
    expect(acts.reverse()).toEqual(
      [
        'user_created',
        'user_changed',
        'token_issued',
        'token_revoked',
        'enrollment_issued',
        'password_reset',
        'user_disabled',
      ].map((action) => [admin.user.userId, action]),
    );
    const changed = log.json().items.find((e: { action: string }) => e.action === 'user_changed');
    expect(changed.detail).toMatchObject({ before: { roles: ['operator'] }, after: { roles: ['approver'] } });

    // Nobody edits it, not even with the database's own hands.
    const refusal = (query: PromiseLike<unknown>) =>
      Promise.resolve(query).then(
        () => 'done',
        (error: Error & { cause?: Error }) => error.cause?.message ?? error.message,
      );
    expect(await refusal(stack.database.db.delete(adminLog))).toMatch(/admin_log is append-only: DELETE refused/);
    expect(await refusal(stack.database.db.update(adminLog).set({ actorUserId: 'someone-else' }))).toMatch(
      /append-only: UPDATE refused/,
    );
    expect((await stack.database.db.select().from(adminLog)).length).toBeGreaterThanOrEqual(7);
  });

  it('tells the center head, in the admin log’s own transaction, of a token made for another and of an approving role granted', async () => {
    const supervisor = await stack.user(['supervisor']);
    const told = async (target: string) =>
      (await stack.database.db.select().from(notifications).where(eq(notifications.caseId, target))).map((n) => [
        n.recipientRole,
        n.kind,
        (n.payload as { action: string }).action,
        n.message,
      ]);
    const post = (url: string, payload: object) => stack.request(admin, { method: 'POST', url, payload });
    const operator = (await post('/v1/users', { userId: 'head.op', name: 'op', roles: ['operator'] })).json();
    expect(await told(operator.userId)).toEqual([]);
    await post(`/v1/users/${operator.userId}/tokens`, { label: 'desk' });
    await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${operator.userId}`,
      payload: { roles: ['operator', 'senior_approver'] },
    });
    await post('/v1/users', { userId: 'head.ap', name: 'ap', roles: ['approver'] });
    const by = admin.user.userId;
    expect(await told(operator.userId)).toEqual([
      ['center_head', 'privileged_act', 'token_issued', `${by} token_issued for head.op`],
      ['center_head', 'privileged_act', 'user_changed', `${by} granted senior_approver to head.op`],
    ]);
    expect(await told('head.ap')).toEqual([
      ['center_head', 'privileged_act', 'user_created', `${by} granted approver to head.ap`],
    ]);
    // A change that grants no approving role tells nobody.
    await stack.request(admin, { method: 'PATCH', url: '/v1/users/head.ap', payload: { name: 'renamed' } });
    expect(await told('head.ap')).toHaveLength(1);
    // The supervisors see it among the notifications.
    const listed = await stack.request(supervisor, {
      method: 'GET',
      url: '/v1/notifications?recipientRole=center_head',
    });
    expect(listed.json().items.map((n: { caseId: string }) => n.caseId)).toContain('head.ap');

    // One never without the other: when the notification cannot be written, neither is the token nor its log row.
    const sql = postgres(stack.databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await sql.unsafe(`create function refuse_notice() returns trigger language plpgsql as
        $$ begin raise exception 'outbox down'; end $$;
        create trigger refuse_notice before insert on notifications for each row execute function refuse_notice();`);
      const logged = async () => (await stack.database.db.select().from(adminLog)).length;
      const before = {
        log: await logged(),
        tokens: (await stack.request(admin, { method: 'GET', url: `/v1/users/${operator.userId}/tokens` })).json().items
          .length,
      };
      const failed = await post(`/v1/users/${operator.userId}/tokens`, { label: 'again' });
      expect(failed.statusCode).toBe(500);
      expect(await logged()).toBe(before.log);
      const tokens = (await stack.request(admin, { method: 'GET', url: `/v1/users/${operator.userId}/tokens` })).json();
      expect(tokens.items).toHaveLength(before.tokens);
    } finally {
      await sql.unsafe('drop trigger refuse_notice on notifications; drop function refuse_notice();');
      await sql.end();
    }
  });

  it('lists a user’s tokens with who issued them, never their values', async () => {
    const person = await stack.user(['operator']);
    const issued = (
      await stack.request(admin, {
        method: 'POST',
        url: `/v1/users/${person.user.userId}/tokens`,
        payload: { label: 'x' },
      })
    ).json();
    const listed = await stack.request(admin, { method: 'GET', url: `/v1/users/${person.user.userId}/tokens` });
    expect(listed.statusCode).toBe(200);
    expect(listed.json().items[0]).toMatchObject({
      tokenId: issued.tokenId,
      label: 'x',
      issuedBy: admin.user.userId,
      revokedAt: null,
    });
    expect(listed.body).not.toContain(issued.token);
  });

  it('refuses an admin who would also do casework (no one person files and decides alone)', async () => {
    const both = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      payload: { name: 'x', roles: ['admin', 'approver'] },
    });
    expect(both.statusCode).toBe(400);
    expect(problem(both).errors[0].pointer).toBe('/roles');
    const later = await stack.request(admin, {
      method: 'PATCH',
      url: `/v1/users/${admin.user.userId}`,
      payload: { roles: ['admin', 'calltaker'] },
    });
    expect(later.statusCode).toBe(400);
  });

  it('keeps a revoked bootstrap token revoked after a restart, unless FANZHA_ADMIN_TOKEN changes', async () => {
    const store = createUserStore(stack.database.db);
    const bootstrap = 'bootstrap-token-0123456789abcdef';
    await store.ensureAdmin(bootstrap);
    const me = (token: string) =>
      stack.request(null, { method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${token}` } });
    expect((await me(bootstrap)).statusCode).toBe(200);
    await stack.request(admin, { method: 'DELETE', url: '/v1/users/admin/tokens/tok_bootstrap' });
    expect((await me(bootstrap)).statusCode).toBe(401);
    await store.ensureAdmin(bootstrap); // a restart with the same setting
    expect((await me(bootstrap)).statusCode).toBe(401);
    const next = 'bootstrap-token-fedcba9876543210';
    await store.ensureAdmin(next); // a new FANZHA_ADMIN_TOKEN
    expect((await me(next)).statusCode).toBe(200);
    expect((await me(bootstrap)).statusCode).toBe(401);
  });

  it('stores tokens only as SHA-256 hashes', async () => {
    const caller = await stack.user(['operator']);
    const rows = await stack.database.db.query.apiTokens.findMany({
      where: (t, { eq }) => eq(t.userId, caller.user.userId),
    });
    expect(rows).toHaveLength(1);
    // The hash of this very token, and the token itself in no column of any token row.
    expect(rows[0]!.tokenHash).toBe(createHash('sha256').update(caller.token).digest('hex'));
    const everything = JSON.stringify(await stack.database.db.query.apiTokens.findMany());
    expect(everything).not.toContain(caller.token);
    expect(everything).not.toContain(caller.token.slice(3, 30));
  });

  it('lists users with cursor pagination', async () => {
    for (let i = 0; i < 3; i++) await stack.user(['operator']);
    const seen = new Set<string>();
    let cursor: string | null = null;
    do {
      const page = await stack.request(admin, {
        method: 'GET',
        url: `/v1/users?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      });
      expect(page.statusCode).toBe(200);
      const body = page.json();
      expect(body.items.length).toBeLessThanOrEqual(2);
      for (const item of body.items) {
        expect(seen.has(item.userId)).toBe(false);
        seen.add(item.userId);
      }
      cursor = body.nextCursor;
    } while (cursor);
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('refuses bad bodies with validation_failed naming each field, and changes nothing', async () => {
    const before = (await stack.database.db.query.users.findMany()).length;
    const bad = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      payload: { roles: ['operator', 'wizard'], shoeSize: 43 },
    });
    expect(bad.statusCode).toBe(400);
    const body = problem(bad);
    expect(body.code).toBe('validation_failed');
    const pointers = body.errors.map((e: { pointer: string }) => e.pointer).sort();
    expect(pointers).toEqual(['/name', '/roles/1', '/shoeSize']);

    const stationless = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      payload: { name: 'x', roles: ['station'] },
    });
    expect(stationless.statusCode).toBe(400);
    expect(problem(stationless).errors[0].pointer).toBe('/stationId');

    const malformed = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      headers: { 'content-type': 'application/json' },
      payload: '{"name": "x", roles: ',
    });
    expect(malformed.statusCode).toBe(400);
    expect(problem(malformed).code).toBe('validation_failed');

    const wrongType = await stack.request(admin, {
      method: 'POST',
      url: '/v1/users',
      headers: { 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(wrongType.statusCode).toBe(415);
    expect(problem(wrongType).code).toBe('unsupported_media_type');

    expect((await stack.database.db.query.users.findMany()).length).toBe(before);
  });

  it('repeats the first answer for a retried creation with the same Idempotency-Key', async () => {
    const send = (name: string) =>
      stack.request(admin, {
        method: 'POST',
        url: '/v1/users',
        headers: { 'idempotency-key': 'create-zhao' },
        payload: { name, roles: ['operator'] },
      });
    const first = await send('赵');
    const second = await send('赵');
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.json()).toEqual(first.json());
    const named = (await stack.database.db.query.users.findMany()).filter((u) => u.name === '赵');
    expect(named).toHaveLength(1);
    const reused = await send('钱');
    expect(reused.statusCode).toBe(409);
    expect(problem(reused).code).toBe('conflict');
  });

  it('serves the OpenAPI document and Swagger UI without a token', async () => {
    const doc = await stack.request(null, { method: 'GET', url: '/openapi.json' });
    expect(doc.statusCode).toBe(200);
    expect(Object.keys(doc.json().paths)).toEqual(
      expect.arrayContaining(['/v1/users', '/v1/me', '/healthz', '/readyz']),
    );
    expect((await stack.request(null, { method: 'GET', url: '/docs' })).statusCode).toBe(200);
  });

  it('sends security headers', async () => {
    const response = await stack.request(null, { method: 'GET', url: '/healthz' });
    expect(response.headers['x-content-type-options']).toBe('nosniff');
    expect(response.headers['strict-transport-security']).toBeDefined();
  });
});
