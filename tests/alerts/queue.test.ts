/** An operator's shift: take the next alert until there is none. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, expectReadModelMatchesWorkflows, newAlert, readModelRow } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let api: ReturnType<typeof alertApi>;
let platform: Caller, operator: Caller, operator2: Caller;

beforeAll(async () => {
  stack = await startStack();
  api = alertApi(stack);
  platform = await stack.user(['platform']);
  operator = await stack.user(['operator']);
  operator2 = await stack.user(['operator']);
});
afterAll(async () => {
  await expectReadModelMatchesWorkflows(stack);
  await stack?.close();
});

describe('next', () => {
  it('answers 204 when nothing is queued', async () => {
    const response = await api.next(operator);
    expect(response.statusCode).toBe(204);
    expect(response.body).toBe('');
  });

  it('hands out the most urgent queued alert, claimed for the caller, high risk first', async () => {
    const low = newAlert({ riskLevel: 'low' });
    const medium = newAlert({ riskLevel: 'medium' });
    const high = newAlert({ riskLevel: 'high' });
    for (const alert of [low, medium, high]) {
      await api.ingest(platform, alert);
      await readModelRow(stack, alert.alertId);
    }
    const order: string[] = [];
    for (let i = 0; i < 3; i++) {
      const taken = await api.next(operator);
      expect(taken.statusCode).toBe(200);
      expect(taken.json()).toMatchObject({ state: 'calling', assignee: { userId: operator.user.userId } });
      expect(taken.json().victim.phone).toBe('13812345678');
      order.push(taken.json().alertId);
      await api.callResult(operator, taken.json().alertId, { result: 'contacted', outcome: 'dissuaded' });
    }
    expect(order).toEqual([high.alertId, medium.alertId, low.alertId]);
    expect((await api.next(operator)).statusCode).toBe(204);
  });

  it('gives two operators asking at once two different alerts', async () => {
    const alerts = [newAlert(), newAlert()];
    for (const alert of alerts) {
      await api.ingest(platform, alert);
      await readModelRow(stack, alert.alertId);
    }
    const [a, b] = await Promise.all([api.next(operator), api.next(operator2)]);
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(a.json().alertId).not.toBe(b.json().alertId);
    expect(new Set([a.json().alertId, b.json().alertId])).toEqual(new Set(alerts.map((x) => x.alertId)));
  });
});
