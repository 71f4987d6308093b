/**
 * The load the reliability tests run while they break things: seeded (fixed-seed PRNG) plans of
 * alerts and stop-payment cases, each carried through the public API by its own client that retries
 * like a real one (same Idempotency-Key, until it gets an answer), and the outcome every plan must
 * end in whatever happened meanwhile.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils.js';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '#api/app.js';
import { Worker } from '@temporalio/worker';
import { expect, inject } from 'vitest';
import type { Database } from '#db/client.js';
import { caseEvents } from '#db/schema.js';
import { alertWorkflowId, type AlertView, type RiskLevel } from '#domain/alert.js';
import { stopPaymentWorkflowId, type StopPaymentView } from '#domain/stop-payment.js';
import type { Role } from '#domain/roles.js';
import { currentView } from '#read-model/current-view.js';
import { reconcile, formatReport, type Difference } from '#read-model/reconcile.js';
import { waitFor } from '../helpers/alerts.js';
import {
  answer,
  fanzhaClient,
  retryingFetch,
  type Answer,
  type FanzhaClient,
  type RequestBody,
} from '#scripts/api-client/index.js';
import { mulberry32 } from '#scripts/seeded-random.js';
import type { Stack } from '../helpers/stack.js';
import { leftoverProcesses, stopAllProcesses } from '../helpers/processes.js';

// --- seeded randomness ---------------------------------------------------------------------------

export function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick: <T>(items: readonly T[]) => items[Math.floor(next() * items.length)]!,
  };
}

// --- talking to the API like a client that does not give up ---------------------------------------

export interface Reply {
  status: number;
  body: any;
}
export type Send = (
  token: string | null,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  headers?: Record<string, string>,
) => Promise<Reply>;

/** A second in-process API on the stack's dependencies whose error log is kept, so that a 500 can say why. */
export async function loggedApp(stack: Stack): Promise<{ app: FastifyInstance; errors: string[] }> {
  const errors: string[] = [];
  const app = await buildApp({
    config: stack.config,
    database: stack.database,
    temporal: stack.client,
    logger: { level: 'error', stream: { write: (line: string) => void errors.push(line) } },
  });
  await app.ready();
  return { app, errors };
}

/** Requests into an in-process app (never a network error); a 500 carries the error the app logged. */
export function injectSender(target: Stack | { app: FastifyInstance; errors?: string[] }): Send {
  return async (token, method, url, body, headers = {}) => {
    const seen = 'errors' in target && target.errors ? target.errors.length : 0;
    const response = await target.app.inject({
      method,
      url,
      headers: { ...headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
      ...(body === undefined ? {} : { payload: body as object }),
    });
    let parsed: unknown;
    try {
      parsed = response.body ? JSON.parse(response.body) : null;
    } catch {
      parsed = response.body;
    }
    if (response.statusCode === 500 && 'errors' in target && target.errors) {
      const logged = target.errors.slice(seen).join('').slice(0, 1500);
      parsed = { ...(parsed as object), logged };
    }
    return { status: response.statusCode, body: parsed };
  };
}

/** Requests over HTTP (a killed API is a network error, thrown). */
export function fetchSender(baseUrl: () => string, timeoutMs = 60_000): Send {
  return async (token, method, url, body, headers = {}) => {
    const response = await fetch(`${baseUrl()}${url}`, {
      method,
      headers: {
        ...headers,
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    return { status: response.status, body: parsed };
  };
}

export interface Traffic {
  /** Answers that made a client try again, by reason (status code, or `network`). */
  retries: Record<string, number>;
  /** Logical requests that got their final answer. */
  answered: number;
  /** Every 500 the API gave (a fault must be a 503 to retry, never a 500): `METHOD url: body`. */
  serverErrors: string[];
}

export const newTraffic = (): Traffic => ({ retries: {}, answered: 0, serverErrors: [] });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One logical request: sent again with the same Idempotency-Key on a network error, a 5xx, a 429, or
 * a 409 saying the key is still being processed (its first attempt died with the API), until answered.
 */
export async function request(
  send: Send,
  traffic: Traffic,
  token: string,
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
  key?: string,
  deadlineMs = 150_000,
): Promise<Reply> {
  const until = Date.now() + deadlineMs;
  let last = 'nothing';
  for (let attempt = 0; Date.now() < until; attempt++) {
    let reason: string;
    try {
      const reply = await send(token, method, url, body, key ? { 'idempotency-key': key } : {});
      const inProgress =
        reply.status === 409 &&
        reply.body?.code === 'conflict' &&
        /still being processed/.test(reply.body?.detail ?? '');
      if (reply.status < 500 && reply.status !== 429 && !inProgress) {
        traffic.answered++;
        return reply;
      }
      reason = inProgress ? '409-in-progress' : String(reply.status);
      if (reply.status === 500)
        traffic.serverErrors.push(`${method} ${url}: ${JSON.stringify(reply.body).slice(0, 1800)}`);
      last = `${reply.status} ${JSON.stringify(reply.body).slice(0, 300)}`;
    } catch (error) {
      reason = 'network';
      last = (error as Error).message;
    }
    traffic.retries[reason] = (traffic.retries[reason] ?? 0) + 1;
    await sleep(Math.min(100 * 2 ** Math.min(attempt, 4), 1_000));
  }
  throw new Error(`${method} ${url} got no answer within ${deadlineMs} ms (last: ${last})`);
}

/**
 * The typed API client (scripts/api-client, generated from openapi.json) over `send`: openapi-fetch makes
 * each request from the contract's types, and `request` carries it as one logical request (retried with
 * its Idempotency-Key until answered), so the plans' requests and answers are checked by tsc.
 */
export function typedClient(send: Send, traffic: Traffic, token: string, deadlineMs?: number): FanzhaClient {
  return fanzhaClient('http://api.test', undefined, async (sent) => {
    const url = new URL(sent.url);
    const text = await sent.text();
    const reply = await request(
      send,
      traffic,
      token,
      sent.method as 'GET' | 'POST',
      url.pathname + url.search,
      text ? JSON.parse(text) : undefined,
      sent.headers.get('idempotency-key') ?? undefined,
      deadlineMs,
    );
    const body = reply.status === 204 || reply.body === null ? null : JSON.stringify(reply.body);
    return new Response(body, { status: reply.status, headers: { 'content-type': 'application/json' } });
  });
}

/** What a typed call answered: its status, and the answer or the problem. */
interface Answered {
  response: Response;
  data?: unknown;
  error?: unknown;
}

// --- plans ---------------------------------------------------------------------------------------

/** Personal data the plans send: it must never show up whole in a log. */
export const ALERT_VICTIM_PHONE = '13812345678';
export const CASE_VICTIM_PHONE = '13912345678';

export type AlertPath =
  'dissuade' | 'retry_then_false_positive' | 'refused_then_visit' | 'cancel' | 'unreachable' | 'defrauded';

export interface AlertPlan {
  alertId: string;
  riskLevel: RiskLevel;
  path: AlertPath;
  operator: number;
  amountAtRiskFen: number;
  expected: {
    outcome: AlertView['outcome'];
    callAttempts: number;
    amountAtRiskFen: number | null;
    kinds: Record<string, number>;
  };
}

export type AccountKind = 'full' | 'partial' | 'empty' | 'missing' | 'onward';
export type CasePath = 'reject' | 'release' | 'freeze_then_release';

export interface PlannedHold {
  bank: string;
  account: string;
  level: number;
  requestedFen: number;
  kind: AccountKind | 'onward_child';
  /** Seeded in the simulator before the case is filed. */
  seed?: { balanceFen: number; onward?: { bank: string; account: string; amountFen: number }[]; exists?: boolean };
  expected: { state: string; stoppedFen: number; frozen: boolean };
}

export interface CasePlan {
  n: number;
  path: CasePath;
  transfers: { bank: string; account: string; amountFen: number }[];
  holds: PlannedHold[];
}

const BANKS = ['ICBC', 'CCB', 'ABC', 'BOC', 'CMB'] as const;

export interface Plan {
  seed: number;
  prefix: string;
  alerts: AlertPlan[];
  cases: CasePlan[];
}

/** Everything the load will do, decided up front from the seed. `prefix` keeps IDs apart between tests. */
export function buildPlan(
  seed: number,
  prefix: string,
  counts: { alerts: number; cases: number; operators: number },
): Plan {
  const rnd = prng(seed);
  const alerts: AlertPlan[] = [];
  const paths: AlertPath[] = [
    'dissuade',
    'retry_then_false_positive',
    'refused_then_visit',
    'cancel',
    'unreachable',
    'defrauded',
  ];
  for (let i = 0; i < counts.alerts; i++) {
    const path = paths[i % paths.length]!;
    const riskLevel: RiskLevel = path === 'unreachable' ? 'low' : rnd.pick(['high', 'medium'] as const);
    const amountAtRiskFen = rnd.int(1, 5_000) * 100;
    const expected: AlertPlan['expected'] = {
      dissuade: {
        outcome: 'dissuaded' as const,
        callAttempts: 1,
        amountAtRiskFen: null,
        kinds: { claimed: 1, call_result: 1, closed: 1 },
      },
      retry_then_false_positive: {
        outcome: 'false_positive' as const,
        callAttempts: 2,
        amountAtRiskFen: null,
        kinds: { claimed: 2, call_result: 2, retry_scheduled: 1, requeued: 1, closed: 1 },
      },
      refused_then_visit: {
        outcome: 'dissuaded' as const,
        callAttempts: 1,
        amountAtRiskFen: null,
        kinds: { claimed: 1, call_result: 1, visit_requested: 1, visit_result: 1, closed: 1 },
      },
      cancel: {
        outcome: 'cancelled' as const,
        callAttempts: 0,
        amountAtRiskFen: null,
        kinds: { claimed: 0, closed: 1 },
      },
      unreachable: {
        outcome: 'unreachable' as const,
        callAttempts: 2,
        amountAtRiskFen: null,
        kinds: { claimed: 2, call_result: 2, retry_scheduled: 1, requeued: 1, closed: 1 },
      },
      defrauded: {
        outcome: 'defrauded' as const,
        callAttempts: 1,
        amountAtRiskFen,
        kinds: { claimed: 1, call_result: 1, closed: 1 },
      },
    }[path];
    alerts.push({
      alertId: `${prefix}-A${String(i).padStart(4, '0')}-${seed}`,
      riskLevel,
      path,
      operator: rnd.int(0, counts.operators - 1),
      amountAtRiskFen,
      expected: { ...expected, kinds: { received: 1, platform_update: 0, ...expected.kinds } },
    });
  }

  let accountSerial = 0;
  const account = () =>
    `62${String(seed % 1000).padStart(3, '0')}${String(accountSerial++).padStart(9, '0')}${rnd.int(10, 99)}`;
  const cases: CasePlan[] = [];
  const casePaths: CasePath[] = ['release', 'freeze_then_release', 'reject', 'release', 'freeze_then_release'];
  for (let n = 0; n < counts.cases; n++) {
    const path = casePaths[n % casePaths.length]!;
    const transfers: CasePlan['transfers'] = [];
    const holds: PlannedHold[] = [];
    const accounts = rnd.int(1, 3);
    for (let k = 0; k < accounts; k++) {
      // The first account always holds money, so a release always has something to release.
      const kind: AccountKind =
        k === 0
          ? rnd.pick(['full', 'partial', 'onward'] as const)
          : rnd.pick(['full', 'partial', 'empty', 'missing', 'onward'] as const);
      const bank = rnd.pick(BANKS);
      const amountFen = rnd.int(1_000, 900_000) * 100;
      const acct = account();
      transfers.push({ bank, account: acct, amountFen });
      const hold: PlannedHold = {
        bank,
        account: acct,
        level: 1,
        requestedFen: amountFen,
        kind,
        expected: { state: 'released', stoppedFen: amountFen, frozen: false },
      };
      if (kind === 'partial') {
        hold.seed = { balanceFen: Math.floor(amountFen / 2) };
        hold.expected.stoppedFen = Math.floor(amountFen / 2);
      } else if (kind === 'empty') {
        hold.seed = { balanceFen: 0 };
        hold.expected = { state: 'empty', stoppedFen: 0, frozen: false };
      } else if (kind === 'missing') {
        hold.seed = { balanceFen: 0, exists: false };
        hold.expected = { state: 'failed', stoppedFen: 0, frozen: false };
      } else if (kind === 'onward') {
        const onward = Array.from({ length: rnd.int(1, 2) }, () => ({
          bank: rnd.pick(BANKS),
          account: account(),
          amountFen: rnd.int(100, 50_000) * 100,
        }));
        hold.seed = { balanceFen: amountFen, onward };
        for (const o of onward)
          holds.push({
            ...o,
            level: 2,
            requestedFen: o.amountFen,
            kind: 'onward_child',
            expected: { state: 'released', stoppedFen: o.amountFen, frozen: false },
          });
      }
      holds.unshift(hold);
    }
    // Level-1 holds first, in filing order, then the onward ones.
    holds.sort(
      (a, b) =>
        a.level - b.level ||
        transfers.findIndex((t) => t.account === a.account) - transfers.findIndex((t) => t.account === b.account),
    );
    if (path === 'freeze_then_release') holds[0]!.expected.frozen = true;
    cases.push({ n, path, transfers, holds });
  }
  return { seed, prefix, alerts, cases };
}

// --- running the plans ---------------------------------------------------------------------------

export interface Actors {
  platform: string;
  operators: string[];
  supervisor: string;
  calltaker: string;
  approver: string;
  senior: string;
}

export interface RunState {
  /** Steps of all plans answered so far (the tests break things when enough of them are done). */
  steps: number;
  totalSteps: number;
  /** stopPaymentId of each case plan, once filed. */
  caseIds: Map<number, string>;
  traffic: Traffic;
  failures: string[];
  /** What each unfinished plan is waiting for (plan → step), for a timeout's message. */
  progress: Map<string, string>;
  /** Steps answered, as their Idempotency-Keys (`<alertId>:claim-1`, `<prefix>-<seed>-case-<n>:file`). */
  answered: Set<string>;
  /** Every case waits for it before its release (a backup test: so that bank instructions come after the backup). */
  beforeRelease?: Promise<unknown>;
}

const alertSteps: Record<AlertPath, number> = {
  dissuade: 3,
  retry_then_false_positive: 5,
  refused_then_visit: 4,
  cancel: 2,
  unreachable: 5,
  defrauded: 3,
};
const caseSteps: Record<CasePath, number> = { reject: 2, release: 3, freeze_then_release: 4 };

export function newRunState(plan: Plan): RunState {
  return {
    steps: 0,
    totalSteps:
      plan.alerts.reduce((s, a) => s + alertSteps[a.path], 0) + plan.cases.reduce((s, c) => s + caseSteps[c.path], 0),
    caseIds: new Map(),
    traffic: newTraffic(),
    failures: [],
    progress: new Map(),
    answered: new Set(),
  };
}

/** Seeds the simulator's accounts the plan's cases pay into (each must be accepted): the stack's, or one at `bankUrl`. */
export async function seedBank(plan: Plan, target: Stack | { bankUrl: string }) {
  for (const c of plan.cases)
    for (const h of c.holds)
      if (h.seed) {
        const payload = { bank: h.bank, account: h.account, ...h.seed };
        const status =
          'bankUrl' in target
            ? (
                await fetch(`${target.bankUrl}/accounts`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/json' },
                  body: JSON.stringify(payload),
                })
              ).status
            : (await target.request(null, { method: 'POST', url: '/sim/bank/accounts', payload })).statusCode;
        expect(status).toBe(201);
      }
}

/** afterAll of a test that ran processes of its own: none may outlive it, nor its archiver schedule. */
export async function closeWithProcesses(stack: Stack | undefined) {
  await stopAllProcesses();
  if (stack) await deleteSchedulesOf(stack.client, stack.config.temporal.taskQueue);
  await stack?.close();
  expect(leftoverProcesses()).toEqual([]);
}

/** Reads through `read` (a typed GET, each within what is left of the time) until the view satisfies `until`. */
async function pollView<T>(
  read: (api: FanzhaClient) => Promise<{ data?: T; error?: unknown; response: Response }>,
  connect: (deadlineMs: number) => FanzhaClient,
  until: (view: T) => boolean,
  what: string,
  timeoutMs = 150_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    const { data, error, response } = await read(connect(Math.max(deadline - Date.now(), 1)));
    last = data ?? error;
    if (response.status === 200 && data !== undefined && until(data)) return data;
    await sleep(200);
  }
  throw new Error(`timed out waiting for ${what}; last answer: ${JSON.stringify(last).slice(0, 500)}`);
}

function expectAnswer(state: RunState, what: string, { response, data, error }: Answered, status: number) {
  if (response.status !== status)
    state.failures.push(
      `${what}: expected ${status}, got ${response.status} ${JSON.stringify(data ?? error ?? null).slice(0, 300)}`,
    );
}

async function runAlert(send: Send, actors: Actors, state: RunState, plan: AlertPlan) {
  const t = state.traffic;
  const id = plan.alertId;
  const op = actors.operators[plan.operator]!;
  const path = { alertId: id };
  /** One step of the plan, as `token`, with its own Idempotency-Key. */
  const step = async (
    what: string,
    token: string,
    call: (api: FanzhaClient, header: { 'idempotency-key': string }) => Promise<Answered>,
    status = 200,
  ) => {
    state.progress.set(id, what);
    const reply = await call(typedClient(send, t, token), { 'idempotency-key': `${id}:${what}` });
    expectAnswer(state, `${id} ${what}`, reply, status);
    state.steps++;
    state.answered.add(`${id}:${what}`);
    return reply;
  };
  const claim = (what: string) =>
    step(what, op, (api, header) => api.POST('/v1/alerts/{alertId}/claim', { params: { path, header }, body: {} }));
  const callResult = (what: string, body: RequestBody<'/v1/alerts/{alertId}/call-result', 'post'>) =>
    step(what, op, (api, header) => api.POST('/v1/alerts/{alertId}/call-result', { params: { path, header }, body }));
  await step(
    'ingest',
    actors.platform,
    (api, header) =>
      api.POST('/v1/alerts', {
        params: { header },
        body: {
          alertId: id,
          source: 'ministry',
          issuedAt: '2026-11-28T09:12:00+08:00',
          riskLevel: plan.riskLevel,
          fraudType: 'investment',
          victim: { phone: ALERT_VICTIM_PHONE, name: '张三' },
          stationId: 'haibowan-01',
        },
      }),
    201,
  );
  const queued = () => (
    state.progress.set(id, 'waiting to be queued again'),
    pollView(
      (api) => api.GET('/v1/alerts/{alertId}', { params: { path } }),
      (deadlineMs) => typedClient(send, t, op, deadlineMs),
      // Or claimed again already: a plan driven again on a restored system finds its alert where the backup left it.
      (v) => v.state === 'queued' || v.timeline.filter((e) => e.kind === 'claimed').length >= 2,
      `${id} to be queued again`,
    )
  );
  switch (plan.path) {
    case 'dissuade':
      await claim('claim-1');
      await callResult('call-1', { result: 'contacted', outcome: 'dissuaded' });
      break;
    case 'defrauded':
      await claim('claim-1');
      await callResult('call-1', {
        result: 'contacted',
        outcome: 'already_defrauded',
        amountAtRiskFen: plan.amountAtRiskFen,
      });
      break;
    case 'retry_then_false_positive':
    case 'unreachable':
      await claim('claim-1');
      await callResult('call-1', { result: 'not_reached', reason: 'busy' });
      await queued();
      await claim('claim-2');
      await callResult(
        'call-2',
        plan.path === 'unreachable'
          ? { result: 'not_reached', reason: 'powered_off' }
          : { result: 'contacted', outcome: 'false_positive' },
      );
      break;
    case 'refused_then_visit':
      await claim('claim-1');
      await callResult('call-1', { result: 'contacted', outcome: 'refused' });
      await step('visit', actors.supervisor, (api, header) =>
        api.POST('/v1/alerts/{alertId}/visit-result', {
          params: { path, header },
          body: { outcome: 'dissuaded', note: 'visited at home' },
        }),
      );
      break;
    case 'cancel':
      await step('cancel', actors.platform, (api, header) =>
        api.POST('/v1/alerts/{alertId}/cancel', {
          params: { path, header },
          body: { reason: 'duplicate instruction' },
        }),
      );
      break;
  }
}

async function runCase(send: Send, actors: Actors, state: RunState, plan: Plan, c: CasePlan) {
  const t = state.traffic;
  const key = (what: string) => ({ 'idempotency-key': `${plan.prefix}-${plan.seed}-case-${c.n}:${what}` });
  const filed = await typedClient(send, t, actors.calltaker).POST('/v1/stop-payments', {
    params: { header: key('file') },
    body: {
      reportedAt: '2026-11-28T10:02:00+08:00',
      caseRef: `${plan.prefix}-${c.n}`,
      victim: { name: '李四', phone: CASE_VICTIM_PHONE },
      transfers: c.transfers.map((tr) => ({ ...tr, transferredAt: '2026-11-28T09:40:00+08:00' })),
    },
  });
  expectAnswer(state, `case ${c.n} file`, filed, 201);
  state.steps++;
  state.answered.add(key('file')['idempotency-key']);
  const id = filed.data?.stopPaymentId;
  if (!id) return;
  state.caseIds.set(c.n, id);
  const path = { stopPaymentId: id };
  /** One decision on the case, as `token`, with its own Idempotency-Key. */
  const decide = async (
    what: string,
    token: string,
    call: (api: FanzhaClient, header: { 'idempotency-key': string }) => Promise<Answered>,
  ) => {
    state.progress.set(`case ${c.n} ${id}`, what);
    const reply = await call(typedClient(send, t, token), key(what));
    expectAnswer(state, `case ${c.n} ${what}`, reply, 200);
    state.steps++;
    state.answered.add(key(what)['idempotency-key']);
    return reply;
  };
  const caseView = (until: (view: Answer<'/v1/stop-payments/{stopPaymentId}', 'get'>) => boolean, what: string) =>
    pollView(
      (api) => api.GET('/v1/stop-payments/{stopPaymentId}', { params: { path } }),
      (deadlineMs) => typedClient(send, t, actors.approver, deadlineMs),
      until,
      what,
    );
  if (c.path === 'reject') {
    await decide('reject', actors.approver, (api, header) =>
      api.POST('/v1/stop-payments/{stopPaymentId}/reject', {
        params: { path, header },
        body: { reason: 'not a fraud case' },
      }),
    );
    return;
  }
  await decide('approve', actors.approver, (api, header) =>
    api.POST('/v1/stop-payments/{stopPaymentId}/approve', { params: { path, header }, body: { note: 'urgent' } }),
  );
  state.progress.set(`case ${c.n} ${id}`, 'waiting for every bank to answer');
  const settled = await caseView(
    (v) => v.holds.length === c.holds.length && v.holds.every((h) => h.state !== 'submitting'),
    `case ${c.n} (${id}) to hear from every bank`,
  );
  if (c.path === 'freeze_then_release') {
    const first = c.holds[0]!;
    const hold = settled.holds.find((h) => h.account === first.account && h.bank === first.bank);
    if (!hold) {
      state.failures.push(`case ${c.n}: no hold for ${first.bank} ${first.account}`);
      return;
    }
    await decide('freeze', actors.senior, (api, header) =>
      api.POST('/v1/stop-payments/{stopPaymentId}/holds/{holdId}/freeze', {
        params: { path: { ...path, holdId: hold.holdId }, header },
        body: { legalDocRef: `冻结-${c.n}` },
      }),
    );
    await caseView(
      (v) =>
        v.holds.some(
          // Or released already: a plan driven again on a restored system finds its hold where the backup left it.
          (h) => h.holdId === hold.holdId && (h.state === 'frozen' || h.state === 'released'),
        ),
      `hold ${hold.holdId} to be frozen`,
    );
  }
  if (state.beforeRelease) {
    state.progress.set(`case ${c.n} ${id}`, 'waiting to be let release');
    await state.beforeRelease;
  }
  await decide('release', actors.senior, (api, header) =>
    api.POST('/v1/stop-payments/{stopPaymentId}/release', {
      params: { path, header },
      body: { reason: 'victim refunded' },
    }),
  );
}

/** Waits for the load; past `timeoutMs` fails saying which plans are stuck at which step. */
export async function awaitLoad(load: Promise<void>, state: RunState, timeoutMs = 150_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const stuck = [...state.progress.entries()].slice(0, 15).map(([plan, step]) => `${plan}: ${step}`);
      reject(
        new Error(
          `the load did not finish within ${timeoutMs} ms (${state.steps}/${state.totalSteps} steps); ${state.progress.size} plans unfinished:\n${stuck.join('\n')}`,
        ),
      );
    }, timeoutMs);
  });
  try {
    await Promise.race([load, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every plan at once (at most `concurrency` clients at a time); never throws, failures land in `state.failures`. */
export async function runPlan(
  send: Send,
  actors: Actors,
  plan: Plan,
  state: RunState,
  concurrency = 24,
): Promise<void> {
  const jobs: (() => Promise<void>)[] = [
    ...plan.cases.map(
      (c) => () =>
        runCase(send, actors, state, plan, c).finally(() => {
          for (const key of [...state.progress.keys()]) if (key.startsWith(`case ${c.n} `)) state.progress.delete(key);
        }),
    ),
    ...plan.alerts.map((a) => () => runAlert(send, actors, state, a).finally(() => state.progress.delete(a.alertId))),
  ];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          await job();
        } catch (error) {
          state.failures.push((error as Error).message);
        }
      }
    }),
  );
}

// --- what must be true afterwards ------------------------------------------------------------------

/** Alert, case and hold workflows on this task queue (not, e.g., the audit archiver's runs). */
export const caseWorkflows = (taskQueue: string) =>
  `TaskQueue = '${taskQueue}' AND WorkflowType IN ('AlertWorkflow', 'StopPaymentWorkflow', 'HoldWorkflow')`;

/** Waits until no workflow on the task queue is running any more (every plan has finished). */
export async function waitAllClosed(client: Client, taskQueue: string, timeoutMs = 90_000) {
  try {
    await waitFor(
      `every workflow on ${taskQueue} to finish`,
      async () =>
        (await client.workflow.count(`${caseWorkflows(taskQueue)} AND ExecutionStatus = 'Running'`)).count === 0,
      timeoutMs,
    );
  } catch (error) {
    // Say what is still running, and why.
    const running: string[] = [];
    for await (const w of client.workflow.list({
      query: `${caseWorkflows(taskQueue)} AND ExecutionStatus = 'Running'`,
    })) {
      if (running.length >= 10) break;
      const { raw } = await client.workflow.getHandle(w.workflowId).describe();
      const pending = (raw.pendingActivities ?? []).map(
        (a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? '-'}`,
      );
      const task = raw.pendingWorkflowTask ? `task attempt ${raw.pendingWorkflowTask.attempt}` : 'no task';
      // The last events say why a task keeps failing (its failure) or timing out.
      const history = await client.workflow.getHandle(w.workflowId).fetchHistory();
      const events = history.events ?? [];
      // Kept for replaying it against the code (`npm run audit -- replay --file …` or Worker.runReplayHistory).
      const saved = path.join(os.tmpdir(), `fanzha-stuck-${w.workflowId}.json`);
      writeFileSync(saved, historyToJSON(history));
      const last = events.slice(-6).map((e) => {
        const failure = e.workflowTaskFailedEventAttributes?.failure?.message;
        const timeout = e.workflowTaskTimedOutEventAttributes?.timeoutType;
        return `${e.eventId} ${e.eventType}${failure ? ` (${failure.slice(0, 300)})` : ''}${timeout ? ` (timeout ${timeout})` : ''}`;
      });
      running.push(
        `${w.workflowId}: ${task}; activities ${JSON.stringify(pending)}; last events ${last.join(', ')}; history in ${saved}`,
      );
    }
    throw new Error(`${(error as Error).message}\n${running.join('\n')}`, { cause: error });
  }
}

export interface LedgerEntry {
  action: string;
  instructionId: string;
  outcome: string;
}

/**
 * How every fault test ends: each plan ended as planned (with the bank's ledger: one effect per
 * instruction) and the read model reconciles with every workflow. Returns the ledger.
 */
export async function expectPlanFinished(
  stack: Stack,
  plan: Plan,
  state: RunState,
  tolerable?: (d: Difference) => boolean,
) {
  return expectPlanFinishedOn(
    {
      client: stack.client,
      db: stack.database.db,
      taskQueue: stack.config.temporal.taskQueue,
      ledger: async () => (await stack.request(null, { method: 'GET', url: '/sim/bank/ledger' })).json().items,
    },
    plan,
    state,
    tolerable,
  );
}

/** The same on any deployment: its Temporal client, database, task queue, bank ledger and workflow code. */
export async function expectPlanFinishedOn(
  target: {
    client: Client;
    db: Database;
    taskQueue: string;
    ledger: () => Promise<LedgerEntry[]>;
    workflowBundlePath?: string;
  },
  plan: Plan,
  state: RunState,
  tolerable?: (d: Difference) => boolean,
) {
  const { client, db, taskQueue } = target;
  const ledger = await target.ledger();
  await expectPlanOutcome(client, db, plan, state, ledger);
  const counts = { alerts: plan.alerts.length, stopPayments: plan.cases.length, holds: expectedHoldCount(plan) };
  await expectReconciled(db, client, taskQueue, counts, tolerable);
  await expectEveryHistoryReplays(client, taskQueue, target.workflowBundlePath);
  return ledger;
}

/**
 * Every run the load made replays against the code. A history that does not would stop its workflow
 * the next time a worker has to rebuild it from scratch (after a restart, or an eviction), and fails
 * the auditors' replay; most of the time nothing evicts it, so only a replay finds it.
 */
export async function expectEveryHistoryReplays(
  client: Client,
  taskQueue: string,
  workflowBundlePath: string = inject('workflowBundlePath'),
) {
  const runs: { workflowId: string; runId: string }[] = [];
  for await (const w of client.workflow.list({ query: caseWorkflows(taskQueue) }))
    runs.push({ workflowId: w.workflowId, runId: w.runId });
  async function* histories() {
    for (const run of runs)
      yield {
        workflowId: run.workflowId,
        history: await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory(),
      };
  }
  const failed: string[] = [];
  let index = 0;
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: workflowBundlePath }, replayName: 'reliability' },
    histories(),
  )) {
    const run = runs[index++]!;
    if (!result.error) continue;
    const saved = path.join(os.tmpdir(), `fanzha-nondeterministic-${result.workflowId}.json`);
    writeFileSync(saved, historyToJSON(await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()));
    failed.push(`${result.workflowId}: ${result.error.message.slice(0, 400)} (history in ${saved})`);
  }
  expect(failed, `${failed.length} of ${runs.length} histories do not replay`).toEqual([]);
}

/** Each plan ended as planned: outcome, attempts, one event per decision, holds and money, bank effects. */
/** A finished workflow as GET shows it: its result, with the timeline its steps make (results carry no timeline). */
async function finishedView<V extends { timeline: AlertView['timeline'] }>(
  client: Client,
  db: Database,
  workflowId: string,
) {
  await client.workflow.getHandle(workflowId).result();
  const view = await currentView<V>({ temporal: client, db }, workflowId, undefined);
  if (!view) throw new Error(`${workflowId} is unknown`);
  return view;
}

export async function expectPlanOutcome(
  client: Client,
  db: Database,
  plan: Plan,
  state: RunState,
  ledger: LedgerEntry[] | null,
) {
  expect(state.failures).toEqual([]);
  expect(state.steps).toBe(state.totalSteps);
  expect(state.traffic.serverErrors, 'answers 500').toEqual([]);

  for (const a of plan.alerts) {
    const view = await finishedView<AlertView>(client, db, alertWorkflowId(a.alertId));
    const kinds: Record<string, number> = {};
    for (const e of view.timeline) kinds[e.kind] = (kinds[e.kind] ?? 0) + 1;
    const got = {
      outcome: view.outcome,
      callAttempts: view.callAttempts,
      amountAtRiskFen: view.amountAtRiskFen,
      kinds: Object.fromEntries(Object.keys(a.expected.kinds).map((k) => [k, kinds[k] ?? 0])),
    };
    expect(got, `alert ${a.alertId} (${a.path})`).toEqual(a.expected);
    expect(view.state).toBe('closed');
  }

  const expectedInstructions = new Set<string>();
  for (const c of plan.cases) {
    const id = state.caseIds.get(c.n)!;
    const view = await finishedView<StopPaymentView>(client, db, stopPaymentWorkflowId(id));
    if (c.path === 'reject') {
      expect(view.state, `case ${c.n}`).toBe('rejected');
      expect(view.holds).toEqual([]);
      continue;
    }
    expect(view.state, `case ${c.n}`).toBe('closed');
    const got = view.holds
      .map((h) => ({
        bank: h.bank,
        account: h.account,
        level: h.level,
        requestedFen: h.requestedFen,
        state: h.state,
        stoppedFen: h.stoppedFen,
        frozen: h.frozenFen > 0,
      }))
      .sort((x, y) => x.account.localeCompare(y.account));
    const want = c.holds
      .map((h) => ({
        bank: h.bank,
        account: h.account,
        level: h.level,
        requestedFen: h.requestedFen,
        state: h.expected.state,
        stoppedFen: h.expected.stoppedFen,
        frozen: h.expected.frozen,
      }))
      .sort((x, y) => x.account.localeCompare(y.account));
    expect(got, `holds of case ${c.n} (${id}, ${c.path})`).toEqual(want);
    expect(view.stoppedFen).toBe(view.holds.reduce((s, h) => s + h.stoppedFen, 0));
    for (const h of view.holds) {
      expectedInstructions.add(`stop-payments ${h.holdId}:stop`);
      if (h.frozenFen > 0) expectedInstructions.add(`freezes ${h.holdId}:freeze`);
      if (h.state === 'released') expectedInstructions.add(`releases ${h.holdId}:release`);
    }
    const kinds = view.timeline.map((e) => e.kind);
    expect(kinds.filter((k) => k === 'filed')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'approved')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'release_ordered')).toHaveLength(1);
  }

  if (ledger) {
    // Exactly one applied effect per instruction ID, and exactly the instructions the holds needed.
    const applied = ledger.filter((e) => e.outcome === 'applied').map((e) => `${e.action} ${e.instructionId}`);
    expect(applied.length, 'applied instructions, each once').toBe(new Set(applied).size);
    expect(new Set(applied)).toEqual(expectedInstructions);
    expect(ledger.filter((e) => e.outcome === 'conflict')).toEqual([]);
  }

  // Events of the cases: one row per timeline step, nothing doubled.
  const rows = await db.select({ workflowId: caseEvents.workflowId }).from(caseEvents);
  expect(rows.length).toBeGreaterThan(0);
}

const TIME_COLUMNS = new Set([
  'deadline',
  'closedAt',
  'approvedAt',
  'rejectedAt',
  'firstCallAt',
  'firstStopAt',
  'stoppedAt',
  'expiresAt',
]);

/**
 * A difference in event times only (timeline `at`, and the times derived from "now"). Seen after a worker
 * restart: the first activation a fresh worker runs after replaying a history can see the workflow clock of
 * the last replayed task, while a later replay of the same history sees the task's own start time, so the
 * projected view and the replayed one disagree on when that step happened (by up to the outage).
 */
export const onlyEventTimes = (d: Difference) =>
  d.problem === 'stale_row' &&
  d.fields.length > 0 &&
  d.fields.every((f) => TIME_COLUMNS.has(f) || /^detail\..*(\.at|At|\.deadline)$/.test(f));

/**
 * The reconciliation every fault test ends with: no difference between the read model and the workflows.
 * Differences a test declares `tolerable` (and only those) must be repaired, and a second run must find nothing.
 */
export async function expectReconciled(
  db: Database,
  client: Client,
  taskQueue: string,
  counts: { alerts: number; stopPayments: number; holds?: number },
  tolerable: (d: Difference) => boolean = () => false,
) {
  const report = await reconcile({ db, client, taskQueue, settleMs: 1_000 });
  const intolerable = report.differences.filter((d) => !tolerable(d));
  if (intolerable.length > 0) {
    // What the differing workflows are doing, to tell a slow projection from a lost one.
    const states = await Promise.all(
      intolerable.map(async (d) => {
        const described = await client.workflow
          .getHandle(d.workflowId)
          .describe()
          .catch(() => null);
        const pending = (described?.raw.pendingActivities ?? []).map(
          (a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? 'no failure'}`,
        );
        return `${d.workflowId}: ${described?.status.name ?? 'not found'}; pending ${JSON.stringify(pending)}; task ${described?.raw.pendingWorkflowTask ? 'pending' : 'none'}`;
      }),
    );
    expect(intolerable, `${formatReport(report)}\n${states.join('\n')}`).toEqual([]);
  }
  expect(report.checked.alerts).toBe(counts.alerts);
  expect(report.checked.stopPayments).toBe(counts.stopPayments);
  if (counts.holds !== undefined) expect(report.checked.holds).toBe(counts.holds);
  if (report.differences.length > 0) {
    const repaired = await reconcile({ db, client, taskQueue, settleMs: 0, repair: true });
    expect(
      repaired.differences.every((d) => d.repaired),
      formatReport(repaired),
    ).toBe(true);
    const again = await reconcile({ db, client, taskQueue, settleMs: 0 });
    expect(again.differences, formatReport(again)).toEqual([]);
    console.log(`reconcile: ${report.differences.length} tolerated difference(s), repaired:\n${formatReport(report)}`);
  }
  return report;
}

export const expectedHoldCount = (plan: Plan) =>
  plan.cases.filter((c) => c.path !== 'reject').reduce((s, c) => s + c.holds.length, 0);

/** Short durations, so that retries, escalations and reminders happen within a test; nothing lapses or expires by itself. */
export const RELIABILITY_POLICY = {
  alert: {
    claimSla: { high: '3s', medium: '4s', low: '5s' },
    callTimeout: '60s',
    maxCallAttempts: 2,
    retryDelay: { high: '1s', medium: '1s', low: '1s' },
    visitOnUnreachable: { high: true, medium: true, low: false },
    visitSla: { high: '60s', medium: '60s', low: '60s' },
  },
  stopPayment: {
    approvalSla: '20s',
    stopValidity: '30m',
    freezeReminderBefore: '1m',
    freezeValidity: '60m',
    renewalReminderBefore: '1m',
    maxOnwardLevels: 3,
  },
};

/** The users a plan needs, created directly in the stack's database. */
export async function createActors(
  makeUser: (roles: Role[]) => Promise<{ token: string }>,
  operators: number,
): Promise<Actors> {
  return {
    platform: (await makeUser(['platform'])).token,
    operators: await Promise.all(Array.from({ length: operators }, async () => (await makeUser(['operator'])).token)),
    supervisor: (await makeUser(['supervisor'])).token,
    calltaker: (await makeUser(['calltaker'])).token,
    approver: (await makeUser(['approver'])).token,
    senior: (await makeUser(['senior_approver'])).token,
  };
}

/** A user with these roles and a token, made through an API process with the bootstrap admin token, as an administrator would. */
export async function userThroughApi(baseUrl: string, adminToken: string, roles: Role[]): Promise<{ token: string }> {
  // A 503 (a process just started, shedding load) or a 429 is retried, as any client does.
  const admin = fanzhaClient(
    baseUrl,
    adminToken,
    retryingFetch(29, () => 500),
  );
  const user = await answer(admin.POST('/v1/users', { body: { name: roles.join('+'), roles } }));
  return answer(
    admin.POST('/v1/users/{userId}/tokens', {
      params: { path: { userId: user.userId } },
      body: { label: 'reliability' },
    }),
  );
}

/** The users a plan needs, made through an API process. */
export const createActorsThroughApi = (baseUrl: string, adminToken: string, operators: number): Promise<Actors> =>
  createActors((roles) => userThroughApi(baseUrl, adminToken, roles), operators);

/** Removes the schedules a worker process created for this task queue (the audit archiver's), so none outlives the test. */
export async function deleteSchedulesOf(client: Client, taskQueue: string): Promise<void> {
  try {
    for await (const schedule of client.schedule.list()) {
      if (schedule.scheduleId.startsWith(taskQueue))
        await client.schedule
          .getHandle(schedule.scheduleId)
          .delete()
          .catch(() => {});
    }
  } catch {
    // best effort: the server may already be gone
  }
}
