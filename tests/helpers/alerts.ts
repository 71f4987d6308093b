import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { AlertInput } from '#domain/alert.js';
import { formatReport, reconcile } from '#read-model/reconcile.js';
import type { alerts } from '#db/schema.js';
import type { Caller, Stack } from './stack.js';

export const newAlert = (overrides: Partial<AlertInput> = {}): AlertInput => ({
  alertId: `MPS-${randomBytes(5).toString('hex')}`,
  source: 'ministry',
  issuedAt: '2026-11-28T09:12:00+08:00',
  riskLevel: 'high',
  fraudType: 'investment',
  victim: { phone: '13812345678', name: '张三' },
  stationId: 'haibowan-01',
  ...overrides,
});

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`);
}

/** The API calls an operator, officer or platform makes, each asserting nothing but returning the response. */
export function alertApi(stack: Stack) {
  const post = (caller: Caller, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    stack.request(caller, {
      method: 'POST',
      url,
      ...(payload === undefined ? {} : { payload: payload as object }),
      headers,
    });
  return {
    ingest: (caller: Caller, alert: AlertInput, headers?: Record<string, string>) =>
      post(caller, '/v1/alerts', alert, headers),
    get: (caller: Caller, alertId: string) => stack.request(caller, { method: 'GET', url: `/v1/alerts/${alertId}` }),
    list: (caller: Caller, query = '') => stack.request(caller, { method: 'GET', url: `/v1/alerts${query}` }),
    next: (caller: Caller, headers?: Record<string, string>) => post(caller, '/v1/alerts/next', undefined, headers),
    claim: (caller: Caller, alertId: string, headers?: Record<string, string>) =>
      post(caller, `/v1/alerts/${alertId}/claim`, undefined, headers),
    release: (caller: Caller, alertId: string) => post(caller, `/v1/alerts/${alertId}/release`, {}),
    callResult: (caller: Caller, alertId: string, body: unknown, headers?: Record<string, string>) =>
      post(caller, `/v1/alerts/${alertId}/call-result`, body, headers),
    visitResult: (caller: Caller, alertId: string, body: unknown) =>
      post(caller, `/v1/alerts/${alertId}/visit-result`, body),
    transfer: (caller: Caller, alertId: string, body: unknown) => post(caller, `/v1/alerts/${alertId}/transfer`, body),
    cancel: (caller: Caller, alertId: string, body: unknown) => post(caller, `/v1/alerts/${alertId}/cancel`, body),
  };
}

/** Waits until the read model has caught up with a state, then returns the row. */
export async function readModelRow(
  stack: Stack,
  alertId: string,
  until: (row: typeof alerts.$inferSelect) => boolean = () => true,
) {
  return waitFor(`read model of ${alertId}`, async () => {
    const row = await stack.database.db.query.alerts.findFirst({ where: (a, { eq }) => eq(a.alertId, alertId) });
    return row && until(row) ? row : undefined;
  });
}

/**
 * The reconciliation every workflow test ends with: `reconcile()` (what `npm run reconcile` runs) finds
 * no row of the read model that differs from what its workflow last said, for alerts, cases and holds
 * alike, and the events match every timeline entry.
 */
export async function expectReadModelMatchesWorkflows(stack: Stack) {
  const report = await reconcile({
    db: stack.database.db,
    client: stack.client,
    taskQueue: stack.config.temporal.taskQueue,
    settleMs: 5_000,
  });
  expect(formatReport(report)).toBe(formatReport({ ...report, differences: [], clean: true }));
  expect(report.checked.alerts + report.checked.stopPayments).toBeGreaterThan(0);
}
