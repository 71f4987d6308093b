/**
 * Temporal refuses more than `history.maxInFlightUpdates` Updates in flight on one workflow
 * (RESOURCE_EXHAUSTED). The API says so as 503 problem+json with Retry-After, at once, never a 500.
 * This file runs its own dev server with that limit at 1, and the API with the production client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it, inject } from 'vitest';
import { buildApp } from '#api/app.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { freePort } from '../global-setup.js';
import { newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let server: ChildProcess;
let stack: Stack;
let app: FastifyInstance;
let working = false;
const worker = async () => {
  if (!working) await stack.startWorker();
  working = true;
};

beforeAll(async () => {
  const port = await freePort();
  server = spawn(
    inject('temporalCliPath'),
    [
      ...['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'error'],
      ...['--dynamic-config-value', 'history.maxInFlightUpdates=1'],
    ],
    { stdio: 'ignore' },
  );
  const address = `127.0.0.1:${port}`;
  await waitFor(
    'the limited dev server',
    async () => {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 }).catch(() => null);
      if (!connection) return false;
      try {
        return Boolean(await connection.workflowService.describeNamespace({ namespace: 'default' }).catch(() => null));
      } finally {
        await connection.close();
      }
    },
    60_000,
  );
  stack = await startStack({ temporalAddress: address, worker: false });
  // The API as deployed: its own Temporal client (api/server.ts), not the test helper's.
  app = await buildApp({
    config: stack.config,
    database: stack.database,
    temporal: createTemporalClient(stack.config),
    logger: false,
  });
}, 120_000);

afterAll(async () => {
  await app?.close();
  await stack?.close();
  server?.kill('SIGTERM');
});

const post = (caller: Caller, url: string, payload?: object) =>
  app.inject({ method: 'POST', url, payload, headers: { authorization: `Bearer ${caller.token}` } });

it('answers a decision over the per-workflow Update limit with 503 and Retry-After, at once; nothing was done', async () => {
  const [platform, first, second] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator']),
    stack.user(['operator']),
  ]);
  const alert = newAlert();
  expect((await post(platform, '/v1/alerts', alert)).statusCode).toBe(201);
  // No worker yet: an admitted claim stays in flight, so of two claims at once the server takes one
  // and refuses the other.
  const claims = [first, second].map((operator) => post(operator, `/v1/alerts/${alert.alertId}/claim`));
  const refused = await Promise.race(claims);
  expect(refused.statusCode, refused.body).toBe(503);
  expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(refused.json()).toMatchObject({ code: 'unavailable', status: 503 });
  expect(refused.json().detail).toMatch(/too many decisions/);
  expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);

  await worker();
  const answers = await Promise.all(claims);
  expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 503]);
  const winner = answers.find((a) => a.statusCode === 200)!.json().assignee.userId;
  const row = await readModelRow(stack, alert.alertId, (r) => r.state === 'calling');
  expect(row.assigneeId).toBe(winner);
}, 120_000);

it('spreads operators taking next at once over different alerts: each gets one, nobody is refused', async () => {
  await worker();
  const platform = await stack.user(['platform']);
  const operators = await Promise.all(Array.from({ length: 6 }, () => stack.user(['operator'])));
  const pushed = Array.from({ length: 6 }, () => newAlert());
  for (const alert of pushed) expect((await post(platform, '/v1/alerts', alert)).statusCode).toBe(201);
  for (const alert of pushed) await readModelRow(stack, alert.alertId);
  // With one Update in flight per workflow, two operators racing for one alert is a refusal, not a wait.
  const taken = await Promise.all(operators.map((operator) => post(operator, '/v1/alerts/next')));
  expect(
    taken.map((t) => t.statusCode),
    taken.map((t) => t.body).join('\n'),
  ).toEqual(operators.map(() => 200));
  const ids = taken.map((t) => t.json().alertId);
  expect(new Set(ids).size).toBe(operators.length);
  expect(ids.every((id) => pushed.some((a) => a.alertId === id))).toBe(true);
  taken.forEach((t, i) => expect(t.json().assignee.userId).toBe(operators[i]!.user.userId));
}, 120_000);
