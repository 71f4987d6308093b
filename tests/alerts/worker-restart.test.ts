/** Timers live in Temporal, not in a worker: alerts waiting while no worker runs still move on. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let api: ReturnType<typeof alertApi>;
let platform: Caller, operator: Caller, supervisor: Caller;

beforeAll(async () => {
  stack = await startStack({
    policy: {
      alert: {
        claimSla: { high: '3s', medium: '60s', low: '60s' },
        retryDelay: { high: '3s', medium: '3s', low: '3s' },
      },
    },
  });
  api = alertApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator']);
  supervisor = await stack.user(['supervisor']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

describe('worker restart', () => {
  it('fires the timers that came due while no worker ran, and the alerts finish', async () => {
    const escalating = newAlert({ riskLevel: 'high' });
    const retrying = newAlert({ riskLevel: 'medium' });
    await api.ingest(platform, escalating);
    await api.ingest(platform, retrying);
    await api.claim(operator, retrying.alertId);
    expect((await api.callResult(operator, retrying.alertId, { result: 'not_reached' })).json().state).toBe(
      'retry_wait',
    );
    await readModelRow(stack, retrying.alertId, (r) => r.state === 'retry_wait');

    await stack.stopWorker();
    const before = await readModelRow(stack, escalating.alertId);
    await new Promise((r) => setTimeout(r, 4_000));
    // Nothing could run while the worker was away, though the timers came due.
    expect((await readModelRow(stack, retrying.alertId)).state).toBe('retry_wait');
    expect((await readModelRow(stack, escalating.alertId)).escalationLevel).toBe(before.escalationLevel);

    await stack.startWorker();
    await readModelRow(stack, retrying.alertId, (r) => r.state === 'queued');
    await readModelRow(stack, escalating.alertId, (r) => r.escalationLevel >= 1 && r.overdue);

    for (const alert of [escalating, retrying]) {
      await waitFor('claim', async () => (await api.claim(operator, alert.alertId)).statusCode === 200);
      const done = await api.callResult(operator, alert.alertId, { result: 'contacted', outcome: 'dissuaded' });
      expect(done.json()).toMatchObject({ state: 'closed', outcome: 'dissuaded' });
    }
    const escalatedView = (await api.get(supervisor, escalating.alertId)).json();
    expect(escalatedView.timeline.some((e: { kind: string }) => e.kind === 'deadline_missed')).toBe(true);
  });
});
