/**
 * The worker keeps at most FANZHA_WORKER_CACHED_WORKFLOWS open alerts in memory (by default sized from
 * FANZHA_WORKER_MEMORY_MB; the SDK's default would size the cache from the heap: thousands). An alert pushed out of the cache still takes its next
 * decision: the worker replays it from its history.
 */
import type { Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '#config/index.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let worker: Worker;
let platform: Caller, operator: Caller;

beforeAll(async () => {
  stack = await startStack({ worker: false, env: { FANZHA_WORKER_CACHED_WORKFLOWS: '3' } });
  worker = await stack.startWorker();
  [platform, operator] = await Promise.all([stack.user(['platform']), stack.user(['operator'])]);
});
afterAll(async () => {
  await stack?.close();
});

describe('the worker’s workflow cache', () => {
  it('holds no more open alerts than configured, and an evicted one still takes its decision', async () => {
    const alerts = alertApi(stack);
    const pushed = Array.from({ length: 6 }, () => newAlert());
    for (const alert of pushed) expect((await alerts.ingest(platform, alert)).statusCode).toBe(201);
    await waitFor('every alert in the queue', async () => {
      const list = (await alerts.list(operator, '?state=queued')).json() as { items: unknown[] };
      return list.items.length === pushed.length;
    });
    expect(worker.getStatus().numCachedWorkflows).toBeLessThanOrEqual(3);

    // The first one pushed left the cache long ago: the claim replays it, and is answered as ever.
    const claimed = await alerts.claim(operator, pushed[0]!.alertId);
    expect(claimed.statusCode).toBe(200);
    expect(claimed.json()).toMatchObject({ state: 'calling', assignee: { userId: operator.user.userId } });
    expect(worker.getStatus().numCachedWorkflows).toBeLessThanOrEqual(3);
  });

  it('follows the worker’s memory budget unless FANZHA_WORKER_CACHED_WORKFLOWS says otherwise, and refuses fewer than 2', () => {
    const standard = loadConfig({}).workerCachedWorkflows;
    // Hundreds: more than the alerts people act on at once, far fewer than the SDK's thousands.
    expect(standard).toBeGreaterThanOrEqual(200);
    expect(standard).toBeLessThanOrEqual(1000);
    expect(loadConfig({ FANZHA_WORKER_MEMORY_MB: '1024' }).workerCachedWorkflows).toBeGreaterThan(1.9 * standard);
    expect(loadConfig({ FANZHA_WORKER_CACHED_WORKFLOWS: '2000' }).workerCachedWorkflows).toBe(2000);
    for (const bad of ['1', 'many', '-5'])
      expect(() => loadConfig({ FANZHA_WORKER_CACHED_WORKFLOWS: bad }), bad).toThrow(ConfigError);
  });
});
