import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { buildApp } from '#api/app.js';
import type { FanzhaConfig } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { hashToken } from '#db/users.js';
import { freePort } from '../global-setup.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ worker: false });
});
afterAll(() => stack?.close());

describe('health and readiness', () => {
  it('is healthy and ready when Temporal and PostgreSQL answer', async () => {
    expect((await stack.request(null, { method: 'GET', url: '/healthz' })).json()).toEqual({ status: 'ok' });
    const ready = await stack.request(null, { method: 'GET', url: '/readyz' });
    expect(ready.statusCode).toBe(200);
    // This test stack asks for the bank simulator, and readiness says so.
    expect(ready.json()).toEqual({ status: 'ready', temporal: 'ok', database: 'ok', bank: 'simulator' });
  });

  it('serves no /metrics unless FANZHA_METRICS_TOKEN asks for it', async () => {
    const metrics = await stack.request(null, { method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(404);
    expect(metrics.body).not.toContain('http_request_duration_seconds');
  });

  it('serves no bank simulator unless asked for, nor beside a real gateway', async () => {
    const setups: Record<string, string>[] = [
      { FANZHA_BANK_SIMULATOR: '0' },
      { FANZHA_BANK_SIMULATOR: '1', BANK_GATEWAY_URL: 'https://bank-gateway.center.test' },
    ];
    for (const env of setups) {
      const real = await startStack({ worker: false, env });
      try {
        expect((await real.request(null, { method: 'GET', url: '/sim/bank/ledger' })).statusCode).toBe(404);
        if (env.BANK_GATEWAY_URL) {
          const ready = await real.request(null, { method: 'GET', url: '/readyz' });
          expect(ready.json()).toMatchObject({ status: 'ready', bank: 'gateway' });
        }
      } finally {
        await real.close();
      }
    }
  });

  it('answers 503 naming the database when PostgreSQL is unreachable', async () => {
    const url = new URL(stack.databaseUrl);
    url.port = String(await freePort());
    const database = await openDatabase({ url: url.toString(), dataDir: '/tmp', poolSize: 1 });
    const app = await buildApp({ config: stack.config, database, temporal: stack.client, logger: false });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.headers['content-type']).toMatch(/problem\+json/);
      expect(response.json()).toMatchObject({ code: 'unavailable', database: 'unreachable', temporal: 'ok' });
      expect(response.json().detail).toContain('database');
      // Liveness does not depend on dependencies.
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await app.close();
      await database.close();
    }
  });

  it('logs a failed query without its values (the token hash stays out of the log)', async () => {
    const url = new URL(stack.databaseUrl);
    url.port = String(await freePort());
    const database = await openDatabase({ url: url.toString(), dataDir: '/tmp', poolSize: 1 });
    const logged: string[] = [];
    const app = await buildApp({
      config: stack.config,
      database,
      temporal: stack.client,
      logger: { level: 'warn', stream: { write: (line: string) => void logged.push(line) } },
    });
    try {
      const token = 'fz_not-a-real-token-but-a-secret-all-the-same';
      const response = await app.inject({
        method: 'GET',
        url: '/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.statusCode).toBe(503);
      const log = logged.join('');
      expect(log).toContain('Failed query');
      expect(log).toContain('params: (withheld)');
      expect(log).not.toContain(hashToken(token));
    } finally {
      await app.close();
      await database.close();
    }
  });

  it('answers 503 naming Temporal when the Temporal server is unreachable', async () => {
    const connection = Connection.lazy({ address: `127.0.0.1:${await freePort()}` });
    const temporal = new Client({ connection, namespace: 'default' });
    const app = await buildApp({ config: stack.config, database: stack.database, temporal, logger: false });
    try {
      const response = await app.inject({ method: 'GET', url: '/readyz' });
      expect(response.statusCode).toBe(503);
      expect(response.json()).toMatchObject({ code: 'unavailable', temporal: 'unreachable', database: 'ok' });
      expect(response.json().detail).toContain('Temporal');
    } finally {
      await app.close();
      await connection.close();
    }
  });

  /** An app of its own with `change` in its configuration, and an operator's `GET /v1/me` against it. */
  async function withOwnApp(
    change: Partial<FanzhaConfig>,
    run: (app: FastifyInstance, me: () => Promise<LightMyRequestResponse>) => Promise<void>,
  ) {
    const app = await buildApp({
      config: { ...stack.config, ...change },
      database: stack.database,
      temporal: stack.client,
      logger: false,
    });
    try {
      const caller = await stack.user(['operator']);
      await run(app, () =>
        app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: `Bearer ${caller.token}` } }),
      );
    } finally {
      await app.close();
    }
  }

  it('limits requests per token with 429 rate_limited, leaving health checks alone', () =>
    withOwnApp({ rateLimitPerMinute: 3 }, async (app, me) => {
      for (let i = 0; i < 3; i++) expect((await me()).statusCode).toBe(200);
      const limited = await me();
      expect(limited.statusCode).toBe(429);
      expect(limited.headers['content-type']).toMatch(/problem\+json/);
      expect(limited.json().code).toBe('rate_limited');
      for (let i = 0; i < 5; i++) expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    }));

  it('sheds load with 503 + Retry-After while the event loop lags, keeping /healthz alive, and recovers', () =>
    withOwnApp({ maxEventLoopDelayMs: 10 }, async (app, me) => {
      expect((await me()).statusCode).toBe(200);
      // Keep the event loop busy in 50 ms slices through more than one of under-pressure's samples (1 s).
      const until = Date.now() + 1_500;
      while (Date.now() < until) {
        const slice = Date.now() + 50;
        while (Date.now() < slice);
        await new Promise((r) => setImmediate(r));
      }
      const shed = await me();
      expect(shed.statusCode).toBe(503);
      expect(shed.headers['retry-after']).toBe('2');
      expect(shed.headers['content-type']).toMatch(/problem\+json/);
      expect(shed.json()).toMatchObject({ code: 'unavailable', status: 503 });
      expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
      // Once the loop is idle again, requests are served.
      let recovered = false;
      for (let i = 0; i < 30 && !recovered; i++) {
        await new Promise((r) => setTimeout(r, 200));
        recovered = (await me()).statusCode === 200;
      }
      expect(recovered).toBe(true);
    }));
});
