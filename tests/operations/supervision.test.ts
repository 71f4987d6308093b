/**
 * The supervisor's interventions through the JSON API, against a real stack: taking a held alert back
 * to the queue (a decision the workflow records with its reason and whom it was taken from) and
 * acknowledging an escalation (who and when, the first acknowledgement standing).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AlertView } from '#domain/alert.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';

let stack: Stack;
let platform: Caller, operator: Caller, supervisor: Caller, other: Caller;

beforeAll(async () => {
  stack = await startStack({ policy: { alert: { claimSla: { high: '1s', medium: '60s', low: '60s' } } } });
  [platform, operator, supervisor, other] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator'], { name: '王接线员' }),
    stack.user(['supervisor'], { name: '值班长 马' }),
    stack.user(['supervisor'], { name: '值班长 林' }),
  ]);
});
afterAll(() => stack?.close());

const view = async (alertId: string) => (await alertApi(stack).get(supervisor, alertId)).json() as AlertView;
const forceRelease = (caller: Caller, alertId: string, payload: object) =>
  stack.request(caller, { method: 'POST', url: `/v1/alerts/${alertId}/force-release`, payload });

describe('supervision', () => {
  it('takes a held alert back to the queue with a reason the history keeps', async () => {
    const alert = newAlert({ riskLevel: 'medium' });
    await alertApi(stack).ingest(platform, alert);
    expect((await alertApi(stack).claim(operator, alert.alertId)).statusCode).toBe(200);

    expect((await forceRelease(operator, alert.alertId, { reason: '我自己' })).statusCode).toBe(403);
    const blank = await forceRelease(supervisor, alert.alertId, { reason: '' });
    expect(blank.statusCode).toBe(400);

    const taken = await forceRelease(supervisor, alert.alertId, { reason: '劝阻员已下班' });
    expect(taken.statusCode, taken.body).toBe(200);
    expect(taken.json()).toMatchObject({ state: 'queued', assignee: null });
    const released = (await view(alert.alertId)).timeline.findLast((e) => e.kind === 'released')!;
    expect(released.actor).toMatchObject({ userId: supervisor.user.userId, role: 'supervisor' });
    expect(released.detail).toMatchObject({ reason: '劝阻员已下班', heldBy: { userId: operator.user.userId } });
    // Nobody holds it now: there is nothing to take back.
    expect((await forceRelease(supervisor, alert.alertId, { reason: '再次' })).statusCode).toBe(409);
    // The operator's own report on it is refused: it is no longer theirs.
    const late = await alertApi(stack).callResult(operator, alert.alertId, {
      result: 'contacted',
      outcome: 'dissuaded',
    });
    expect(late.statusCode).toBe(409);
  });

  it('acknowledges an escalation once: who and when are kept, a second acknowledgement changes nothing', async () => {
    const alert = newAlert({ riskLevel: 'high' });
    await alertApi(stack).ingest(platform, alert);
    const escalation = await waitFor('the escalation', async () => {
      const found = await stack.app.services.notifications.escalations(supervisor.user, { limit: 50 });
      return found.find((e) => e.caseId === alert.alertId);
    });
    expect(escalation).toMatchObject({
      level: 1,
      deadline: 'claim',
      acknowledgedAt: null,
      recipientRole: 'supervisor',
    });

    const ack = (caller: Caller, id: number) =>
      stack.request(caller, { method: 'POST', url: `/v1/notifications/${id}/acknowledge` });
    expect((await ack(operator, escalation.id)).statusCode).toBe(403);
    const first = await ack(supervisor, escalation.id);
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ id: escalation.id, acknowledgedBy: supervisor.user.userId });
    const second = await ack(other, escalation.id);
    expect(second.json()).toEqual(first.json());
    expect((await ack(supervisor, 987_654_321)).statusCode).toBe(404);

    const listed = await stack.request(supervisor, { method: 'GET', url: '/v1/notifications?limit=100' });
    const row = listed.json().items.find((n: { id: number }) => n.id === escalation.id);
    expect(row).toMatchObject({ acknowledgedBy: supervisor.user.userId, acknowledgedAt: first.json().acknowledgedAt });
  });
});
