import { randomBytes } from 'node:crypto';
import type { StopPaymentInput, StopPaymentView } from '#domain/stop-payment.js';
import { currentView } from '#read-model/current-view.js';
import { waitFor } from './alerts.js';
import type { Caller, Stack } from './stack.js';

/** A fresh account number, so tests never share simulator accounts. */
export const account = () => `6222${randomBytes(6).readUIntBE(0, 6).toString().padStart(12, '0')}`.slice(0, 19);

export const newFiling = (
  transfers: Partial<StopPaymentInput['transfers'][number]>[] = [{}],
  overrides: Partial<StopPaymentInput> = {},
): StopPaymentInput => ({
  reportedAt: '2026-11-28T10:02:00+08:00',
  victim: { name: '张三', phone: '13812345678' },
  transfers: transfers.map((t) => ({
    bank: 'ICBC',
    account: account(),
    amountFen: 3_000_000,
    transferredAt: '2026-11-28T09:40:00+08:00',
    ...t,
  })),
  ...overrides,
});

export function stopPaymentApi(stack: Stack) {
  const post = (caller: Caller, url: string, payload: unknown = {}, headers: Record<string, string> = {}) =>
    stack.request(caller, { method: 'POST', url, payload: payload as object, headers });
  return {
    file: (caller: Caller, filing: StopPaymentInput, headers?: Record<string, string>) =>
      post(caller, '/v1/stop-payments', filing, headers),
    get: (caller: Caller, id: string) => stack.request(caller, { method: 'GET', url: `/v1/stop-payments/${id}` }),
    list: (caller: Caller, query = '') => stack.request(caller, { method: 'GET', url: `/v1/stop-payments${query}` }),
    approve: (caller: Caller, id: string, body: unknown = {}, headers?: Record<string, string>) =>
      post(caller, `/v1/stop-payments/${id}/approve`, body, headers),
    reject: (caller: Caller, id: string, body: unknown) => post(caller, `/v1/stop-payments/${id}/reject`, body),
    release: (caller: Caller, id: string, body: unknown) => post(caller, `/v1/stop-payments/${id}/release`, body),
    restop: (caller: Caller, id: string, holdId: string, body: unknown = {}) =>
      post(caller, `/v1/stop-payments/${id}/holds/${holdId}/restop`, body),
    freeze: (caller: Caller, id: string, holdId: string, body: unknown) =>
      post(caller, `/v1/stop-payments/${id}/holds/${holdId}/freeze`, body),
    renew: (caller: Caller, id: string, holdId: string, body: unknown) =>
      post(caller, `/v1/stop-payments/${id}/holds/${holdId}/renew`, body),
  };
}

/** The simulator's control endpoints (no auth, embedded mode only). */
export function bankSimulator(stack: Stack) {
  const post = (url: string, payload: unknown) =>
    stack.request(null, { method: 'POST', url: `/sim/bank${url}`, payload: payload as object });
  return {
    seed: (account: {
      bank: string;
      account: string;
      balanceFen: number;
      onward?: { bank: string; account: string; amountFen: number }[];
      exists?: boolean;
    }) => post('/accounts', account),
    faults: (faults: { failNext: number; latencyMs?: number }) => post('/faults', faults),
    ledger: async () =>
      (await stack.request(null, { method: 'GET', url: '/sim/bank/ledger' })).json().items as {
        action: string;
        instructionId: string;
        account: string;
        outcome: string;
      }[],
  };
}

/** Waits until the case (as its workflow last told it, read from its history, with its timeline) satisfies `until`. */
export async function caseWhen(
  stack: Stack,
  id: string,
  until: (view: StopPaymentView) => boolean,
  what = 'the case',
  timeoutMs = 30_000,
) {
  return waitFor(
    what,
    async () => {
      const view = await currentView<StopPaymentView>(
        { temporal: stack.client, db: stack.database.db },
        `stoppay-${id}`,
        undefined,
      );
      return view && until(view) ? view : undefined;
    },
    timeoutMs,
  );
}

/** Totals always equal the sum over holds. */
export function expectTotalsConsistent(view: StopPaymentView) {
  const sum = (pick: (h: StopPaymentView['holds'][number]) => number) => view.holds.reduce((s, h) => s + pick(h), 0);
  if (view.holds.length === 0) return;
  if (
    view.requestedFen !== sum((h) => h.requestedFen) ||
    view.stoppedFen !== sum((h) => h.stoppedFen) ||
    view.frozenFen !== sum((h) => h.frozenFen)
  )
    throw new Error(
      `totals ${JSON.stringify([view.requestedFen, view.stoppedFen, view.frozenFen])} differ from the sum over holds`,
    );
}
