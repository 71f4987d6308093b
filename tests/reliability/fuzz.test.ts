/**
 * Property-based fuzzing (fast-check, fixed seed, bounded runs) of every POST route: bodies (valid ones
 * with one field mutated, removed or added, arbitrary JSON, broken JSON, oversized), headers
 * (Authorization, Content-Type, Idempotency-Key) and path parameters (known IDs and arbitrary text).
 * Properties: never a 5xx; and a rejected (4xx) request changes nothing — no row of the read model,
 * users or tokens, no step in any workflow, no new workflow. At the end every workflow that exists was
 * created by an accepted request, and the read model reconciles.
 */
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { sql } from 'drizzle-orm';
import { WorkflowNotFoundError } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { caseWorkflows, expectReconciled } from './scenario.js';

const SEED = 20261128;
const RUNS_PER_ROUTE = 50;

/** Long durations: nothing changes by itself while the fuzzer compares before and after. */
const QUIET_POLICY = {
  alert: {
    claimSla: { high: '1h', medium: '1h', low: '1h' },
    callTimeout: '1h',
    retryDelay: { high: '1h', medium: '1h', low: '1h' },
    visitSla: { high: '1h', medium: '1h', low: '1h' },
  },
  stopPayment: {
    approvalSla: '1h',
    stopValidity: '10h',
    freezeReminderBefore: '1h',
    freezeValidity: '100h',
    renewalReminderBefore: '1h',
  },
};

let stack: Stack;
const who: Record<string, Caller> = {};
/** Known IDs the fuzzer aims at, so that valid-looking requests reach the workflows. */
const ids = {
  alertQueued: '',
  alertCalling: '',
  alertVisit: '',
  casePending: '',
  caseActive: '',
  hold: '',
  userId: '',
};
/** Workflows created by accepted requests (plus the fixtures). */
const created = { alerts: new Set<string>(), cases: new Set<string>() };

beforeAll(async () => {
  stack = await startStack({ policy: QUIET_POLICY, env: { FANZHA_RATE_LIMIT_PER_MINUTE: '10000000' } });
  for (const [name, roles, stationId] of [
    ['admin', ['admin']],
    ['platform', ['platform']],
    ['operator', ['operator']],
    ['operator2', ['operator']],
    ['station', ['station'], 'haibowan-01'],
    ['supervisor', ['supervisor']],
    ['calltaker', ['calltaker']],
    ['approver', ['approver']],
    ['senior', ['senior_approver']],
    ['auditor', ['auditor']],
  ] as const)
    who[name] = await stack.user([...roles], stationId ? { stationId } : {});
  ids.userId = who.auditor!.user.userId;

  const alerts = alertApi(stack);
  for (const key of ['alertQueued', 'alertCalling', 'alertVisit'] as const) {
    const alert = newAlert();
    expect((await alerts.ingest(who.platform!, alert)).statusCode).toBe(201);
    ids[key] = alert.alertId;
    created.alerts.add(alert.alertId);
  }
  expect((await alerts.claim(who.operator!, ids.alertCalling)).statusCode).toBe(200);
  expect((await alerts.claim(who.operator!, ids.alertVisit)).statusCode).toBe(200);
  expect(
    (await alerts.callResult(who.operator!, ids.alertVisit, { result: 'contacted', outcome: 'refused' })).statusCode,
  ).toBe(200);

  const cases = stopPaymentApi(stack);
  for (const key of ['casePending', 'caseActive'] as const) {
    const filed = await cases.file(who.calltaker!, newFiling());
    expect(filed.statusCode).toBe(201);
    ids[key] = filed.json().stopPaymentId;
    created.cases.add(ids[key]);
  }
  expect((await cases.approve(who.approver!, ids.caseActive)).statusCode).toBe(200);
  const active = await waitFor('the active case to hold money', async () => {
    const view = (await cases.get(who.approver!, ids.caseActive)).json();
    return view.holds.length === 1 && view.holds[0].state === 'stopped' ? view : undefined;
  });
  ids.hold = active.holds[0].holdId;
  await settle();
});

afterAll(async () => {
  if (!stack) return;
  try {
    // Every workflow there is was started by an accepted request, and the read model says what they say.
    const tq = stack.config.temporal.taskQueue;
    await waitFor('visibility to list every workflow', async () => {
      const [a, s] = await Promise.all([
        stack.client.workflow.count(`${caseWorkflows(tq)} AND WorkflowType = 'AlertWorkflow'`),
        stack.client.workflow.count(`${caseWorkflows(tq)} AND WorkflowType = 'StopPaymentWorkflow'`),
      ]);
      return a.count === created.alerts.size && s.count === created.cases.size;
    });
    await settle();
    await expectReconciled(stack.database.db, stack.client, tq, {
      alerts: created.alerts.size,
      stopPayments: created.cases.size,
    });
  } finally {
    await stack.close();
  }
});

// --- what "nothing changed" means ------------------------------------------------------------------

/** Every table a request could change (except the stored Idempotency-Key answers), and every known workflow's state. */
async function snapshot(extraAlertId?: string): Promise<unknown> {
  const tables = await stack.database.db.execute(sql`
    select
      (select md5(coalesce(string_agg(t::text, '|' order by t.alert_id), '')) from alerts t) as alerts,
      (select md5(coalesce(string_agg(t::text, '|' order by t.stop_payment_id), '')) from stop_payments t) as stop_payments,
      (select md5(coalesce(string_agg(t::text, '|' order by t.hold_id), '')) from holds t) as holds,
      (select count(*)::int from case_events) as events,
      (select count(*)::int from notifications) as notifications,
      (select md5(coalesce(string_agg(t::text, '|' order by t.user_id), '')) from users t) as users,
      (select md5(coalesce(string_agg(t::text, '|' order by t.token_id), '')) from api_tokens t) as tokens`);
  const handle = (id: string) => stack.client.workflow.getHandle(id);
  // The history of every workflow a request can name: a refused decision never enters it.
  const fixtures = [ids.alertQueued, ids.alertCalling, ids.alertVisit]
    .map((id) => `alert-${id}`)
    .concat(
      [ids.casePending, ids.caseActive].map((id) => `stoppay-${id}`),
      `hold-${ids.hold}`,
    );
  const workflows = await Promise.all(
    fixtures.map((id) =>
      handle(id)
        .describe()
        .then((d) => [id, d.status.name, d.historyLength]),
    ),
  );
  let extra: string | null = null;
  if (extraAlertId && !created.alerts.has(extraAlertId)) {
    extra = await handle(`alert-${extraAlertId}`)
      .describe()
      .then((d) => `exists (${d.status.name})`)
      .catch((error: unknown) =>
        error instanceof WorkflowNotFoundError ? 'absent' : `unknown: ${(error as Error).message}`,
      );
  }
  return { tables: Array.isArray(tables) ? tables : (tables as { rows: unknown[] }).rows, workflows, extra };
}

/** Workflows with a workflow task or an activity still to run (children included): [] when all is quiet. */
async function busyWorkflows(): Promise<string[]> {
  const tq = stack.config.temporal.taskQueue;
  const names = new Set<string>(
    [...created.alerts].map((id) => `alert-${id}`).concat([...created.cases].map((id) => `stoppay-${id}`)),
  );
  for await (const w of stack.client.workflow.list({ query: `${caseWorkflows(tq)} AND ExecutionStatus = 'Running'` }))
    names.add(w.workflowId);
  const busy: string[] = [];
  const seen = new Set<string>();
  let todo = [...names];
  while (todo.length > 0) {
    const next: string[] = [];
    await Promise.all(
      todo.map(async (id) => {
        seen.add(id);
        // A child its parent has just asked for may not exist yet: that is busy too.
        const described = await stack.client.workflow
          .getHandle(id)
          .describe()
          .catch((error: unknown) => {
            if (error instanceof WorkflowNotFoundError) return null;
            throw error;
          });
        if (!described) return void busy.push(id);
        const { raw } = described;
        if (raw.pendingWorkflowTask || (raw.pendingActivities?.length ?? 0) > 0) busy.push(id);
        for (const child of raw.pendingChildren ?? [])
          if (child.workflowId && !seen.has(child.workflowId)) next.push(child.workflowId);
      }),
    );
    todo = [...new Set(next)];
  }
  return busy;
}

/** After an accepted request: wait until every workflow is idle and its effects have reached the read model. */
async function settle() {
  const until = Date.now() + 20_000;
  let last = '';
  while (Date.now() < until) {
    const busy = await busyWorkflows();
    const now = JSON.stringify(await snapshot());
    if (busy.length === 0 && now === last) return;
    last = busy.length === 0 ? now : '';
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the system did not settle after an accepted request (busy: ${(await busyWorkflows()).join(', ')})`);
}

// --- arbitraries -----------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const interesting = fc.constantFrom<Json>(
  '',
  ' ',
  '\u0000',
  '\uFFFF',
  '😀',
  'a'.repeat(3000),
  -1,
  0,
  1.5,
  -0,
  1e13 + 1,
  2 ** 53,
  1e308,
  true,
  null,
  [],
  {},
  '2026-02-30T25:00:00+08:00',
  '１３８１２３４５６７８',
  '<script>',
  "' or 1=1 --",
);
const anyValue: fc.Arbitrary<Json> = fc.oneof(interesting, fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>);

/** JSON pointers of every field of a template (objects and arrays, nested). */
function paths(value: Json, prefix: string[] = []): string[][] {
  if (value === null || typeof value !== 'object') return [prefix];
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value);
  return [prefix, ...keys.flatMap((k) => paths((value as Record<string, Json>)[k]!, [...prefix, k]))];
}

function edit(value: Json, path: string[], change: (parent: Record<string, Json> | Json[], key: string) => void): Json {
  const copy = structuredClone(value);
  if (path.length === 0) return copy;
  let parent = copy as Record<string, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string, Json>;
  change(parent, path[path.length - 1]!);
  return copy;
}

/** A valid body, or that body with one field replaced, removed, or joined by an unknown one. */
function mutated(template: Json): fc.Arbitrary<Json> {
  const all = paths(template);
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(template) },
    {
      weight: 4,
      arbitrary: fc
        .tuple(fc.constantFrom(...all), anyValue)
        .map(([path, v]) => (path.length ? edit(template, path, (p, k) => ((p as Record<string, Json>)[k] = v)) : v)),
    },
    ...(all.length > 1
      ? [
          {
            weight: 2,
            arbitrary: fc
              .constantFrom(...all.filter((p) => p.length > 0))
              .map((path) => edit(template, path, (p, k) => (Array.isArray(p) ? p.splice(Number(k), 1) : delete p[k]))),
          },
        ]
      : []),
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...all), fc.constantFrom('extra', '__proto__', 'constructor', ''), anyValue)
        .map(([path, key, v]) => {
          const target = edit(template, [], () => {});
          let node = target as Record<string, Json>;
          for (const k of path) node = node[k] as Record<string, Json>;
          if (node && typeof node === 'object' && !Array.isArray(node))
            Object.defineProperty(node, key, { value: v, enumerable: true, configurable: true, writable: true });
          return target;
        }),
    },
  );
}

interface Body {
  /** What goes on the wire (undefined: no body at all). */
  payload: string | undefined;
  json: Json | undefined;
}

function bodies(template: Json | null): fc.Arbitrary<Body> {
  const asJson = (json: Json): Body => ({ payload: JSON.stringify(json), json });
  return fc.oneof(
    { weight: 6, arbitrary: (template === null ? fc.constant<Json>({}) : mutated(template)).map(asJson) },
    { weight: 2, arbitrary: anyValue.map(asJson) },
    {
      weight: 1,
      arbitrary: fc.constantFrom<Body>({ payload: undefined, json: undefined }, { payload: '', json: undefined }),
    },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          fc.constantFrom(
            '{',
            '{"a":',
            'null',
            '[]',
            '""',
            'NaN',
            '{"__proto__":{"isAdmin":true}}',
            '{"constructor":{"prototype":{"x":1}}}',
            `{"a":${'['.repeat(5000)}${']'.repeat(5000)}}`,
            'x'.repeat(300_000),
          ),
          fc.string({ maxLength: 200 }),
        )
        .map((payload) => ({ payload, json: undefined })),
    },
  );
}

const latin1 = fc
  .integer({ min: 0x20, max: 0xff })
  .filter((c) => c !== 0x7f)
  .map((c) => String.fromCharCode(c));

const headerArb = fc.record({
  contentType: fc.oneof(
    { weight: 8, arbitrary: fc.constant<string | undefined>('application/json') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<string | undefined>(
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        undefined,
        'application/json; charset=utf-16',
        'application/JSON',
      ),
    },
  ),
  idempotencyKey: fc.option(
    fc.oneof(
      fc.stringMatching(/^[\x21-\x7e]{1,128}$/),
      fc.string({ unit: latin1, maxLength: 140 }),
      fc.constant('k'.repeat(129)),
    ),
    { nil: undefined },
  ),
  authorization: fc.oneof(
    { weight: 8, arbitrary: fc.constant<'right'>('right') },
    {
      weight: 2,
      arbitrary: fc.constantFrom<'other' | 'none' | 'garbage' | 'basic'>('other', 'none', 'garbage', 'basic'),
    },
  ),
});

/** A path segment: a known ID, or text that may not be an ID at all (sent URL-encoded, or raw). */
const segment = (known: () => string[]) =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.constantFrom(0, 1, 2, 3, 4).map((i) => encodeURIComponent(known()[i % known().length]!)),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 90 }).map(encodeURIComponent) },
    { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,90}$/) },
    {
      weight: 1,
      arbitrary: fc.constantFrom('..', '.', '%', '%2F', 'a%2Fb', '%E0%A4%A', '%00', '%C0%AF', 'x'.repeat(2000)),
    },
  );

interface Route {
  name: string;
  /** Callers with a role the route allows. */
  right: () => Caller[];
  path: fc.Arbitrary<string>;
  template: Json | null;
}

const alertIds = () => [ids.alertQueued, ids.alertCalling, ids.alertVisit];
const caseIds = () => [ids.casePending, ids.caseActive];
const alertRoute = (name: string, right: () => Caller[], action: string, template: Json | null): Route => ({
  name,
  right,
  path: segment(alertIds).map((id) => `/v1/alerts/${id}/${action}`),
  template,
});
const caseRoute = (name: string, right: () => Caller[], action: string, template: Json | null): Route => ({
  name,
  right,
  path: segment(caseIds).map((id) => `/v1/stop-payments/${id}/${action}`),
  template,
});
const holdRoute = (name: string, right: () => Caller[], action: string, template: Json | null): Route => ({
  name,
  right,
  path: fc
    .tuple(
      segment(caseIds),
      segment(() => [ids.hold, `${ids.casePending}-1`]),
    )
    .map(([id, hold]) => `/v1/stop-payments/${id}/holds/${hold}/${action}`),
  template,
});

const ROUTES: Route[] = [
  {
    name: 'POST /v1/alerts',
    right: () => [who.platform!],
    path: fc.constant('/v1/alerts'),
    template: newAlert({
      alertId: 'FUZZ-1',
      suspect: { phone: '13900000000', url: 'http://x', app: 'a', account: '1' },
      note: 'n',
    }) as unknown as Json,
  },
  { name: 'POST /v1/alerts/next', right: () => [who.operator2!], path: fc.constant('/v1/alerts/next'), template: null },
  alertRoute('POST /v1/alerts/:alertId/claim', () => [who.operator!, who.operator2!], 'claim', {}),
  alertRoute('POST /v1/alerts/:alertId/release', () => [who.operator!, who.operator2!], 'release', { note: 'busy' }),
  alertRoute('POST /v1/alerts/:alertId/call-result', () => [who.operator!, who.operator2!], 'call-result', {
    result: 'not_reached',
    reason: 'busy',
    note: 'n',
  }),
  alertRoute('POST /v1/alerts/:alertId/visit-result', () => [who.station!, who.supervisor!], 'visit-result', {
    outcome: 'dissuaded',
    note: 'n',
  }),
  alertRoute('POST /v1/alerts/:alertId/transfer', () => [who.station!, who.supervisor!], 'transfer', {
    stationId: 'other-02',
    reason: 'moved',
  }),
  alertRoute('POST /v1/alerts/:alertId/cancel', () => [who.platform!, who.supervisor!], 'cancel', {
    reason: 'duplicate',
  }),
  {
    name: 'POST /v1/stop-payments',
    right: () => [who.calltaker!],
    path: fc.constant('/v1/stop-payments'),
    template: newFiling([{ accountName: '王五' }, {}], { caseRef: 'R-1', alertId: 'MPS-1' }) as unknown as Json,
  },
  caseRoute('POST /v1/stop-payments/:id/approve', () => [who.approver!], 'approve', { note: 'ok' }),
  caseRoute('POST /v1/stop-payments/:id/reject', () => [who.approver!], 'reject', { reason: 'not fraud' }),
  caseRoute('POST /v1/stop-payments/:id/release', () => [who.senior!], 'release', {
    reason: 'refunded',
    holdIds: ['X-1'],
  }),
  holdRoute('POST /v1/stop-payments/:id/holds/:holdId/restop', () => [who.approver!], 'restop', { note: 'again' }),
  holdRoute('POST /v1/stop-payments/:id/holds/:holdId/freeze', () => [who.senior!], 'freeze', {
    legalDocRef: '冻结-1',
    note: 'n',
  }),
  holdRoute('POST /v1/stop-payments/:id/holds/:holdId/renew', () => [who.senior!], 'renew', { legalDocRef: '续冻-1' }),
  {
    name: 'POST /v1/users',
    right: () => [who.admin!],
    path: fc.constant('/v1/users'),
    template: { name: '赵六', roles: ['station'], stationId: 'st-1' },
  },
  {
    name: 'POST /v1/users/:userId/tokens',
    right: () => [who.admin!],
    path: segment(() => [ids.userId, 'admin', 'nobody']).map((id) => `/v1/users/${id}/tokens`),
    template: { label: 'laptop' },
  },
];

describe('fuzzing every POST route', () => {
  for (const [index, route] of ROUTES.entries()) {
    it(`${route.name}: never a 5xx, and a rejected request changes nothing`, async () => {
      const statuses: Record<number, number> = {};
      const arb = fc.record({ path: route.path, body: bodies(route.template), headers: headerArb, pick: fc.nat(10) });
      await fc.assert(
        fc.asyncProperty(arb, async ({ path, body, headers, pick }) => {
          const right = route.right();
          const callers: Record<'right' | 'other' | 'none' | 'garbage' | 'basic', string | undefined> = {
            right: `Bearer ${right[pick % right.length]!.token}`,
            other: `Bearer ${(route.name.includes('users') ? who.auditor! : who.admin!).token}`,
            none: undefined,
            garbage: 'Bearer fz_not-a-token',
            basic: 'Basic YWRtaW46YWRtaW4=',
          };
          const requestHeaders: Record<string, string> = {};
          const authorization = callers[headers.authorization];
          if (authorization) requestHeaders.authorization = authorization;
          if (headers.contentType && body.payload !== undefined) requestHeaders['content-type'] = headers.contentType;
          if (headers.idempotencyKey !== undefined) requestHeaders['idempotency-key'] = headers.idempotencyKey;
          const bodyAlertId =
            route.name === 'POST /v1/alerts' &&
            body.json &&
            typeof body.json === 'object' &&
            !Array.isArray(body.json) &&
            typeof body.json.alertId === 'string'
              ? body.json.alertId
              : undefined;

          const before = await snapshot(bodyAlertId);
          const options: InjectOptions = {
            method: 'POST',
            url: path,
            headers: requestHeaders,
            ...(body.payload === undefined ? {} : { payload: body.payload }),
          };
          const response = await stack.app.inject(options);
          statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
          expect(response.statusCode, `${path} ${response.body.slice(0, 500)}`).toBeLessThan(500);
          if (response.statusCode >= 400) {
            expect(response.headers['content-type'], response.body).toMatch(/application\/problem\+json/);
            expect(await snapshot(bodyAlertId), `${response.statusCode} ${response.body.slice(0, 300)}`).toEqual(
              before,
            );
            return;
          }
          // Accepted: remember what it created, and let its effects land before the next comparison.
          const answer = response.body ? (JSON.parse(response.body) as Record<string, unknown>) : {};
          if (route.name === 'POST /v1/alerts') created.alerts.add(answer.alertId as string);
          if (route.name === 'POST /v1/stop-payments') created.cases.add(answer.stopPaymentId as string);
          await settle();
        }),
        { seed: SEED + index, numRuns: RUNS_PER_ROUTE, endOnFailure: true },
      );
      // The fuzzer did get past validation sometimes, and was refused often.
      const refused = Object.entries(statuses)
        .filter(([s]) => Number(s) >= 400)
        .reduce((n, [, c]) => n + c, 0);
      expect(refused).toBeGreaterThan(RUNS_PER_ROUTE / 4);
      console.log(`fuzz ${route.name}: ${JSON.stringify(statuses)}`);
    }, 120_000);
  }
});

describe('what fuzzing found, pinned down', () => {
  it('refuses U+0000 anywhere (PostgreSQL cannot store it: the projection of such an alert could never be written)', async () => {
    const alert = newAlert({ note: 'a\u0000b' });
    const before = await snapshot(alert.alertId);
    const refused = await alertApi(stack).ingest(who.platform!, alert);
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed', errors: [{ pointer: '/note', in: 'body' }] });
    expect(await snapshot(alert.alertId)).toEqual(before);
    const token = await stack.request(who.admin!, { method: 'POST', url: '/v1/users/%00/tokens', payload: {} });
    expect(token.statusCode).toBe(400);
    expect(token.json()).toMatchObject({ errors: [{ pointer: '/userId', in: 'params' }] });
  });

  it('answers a body nested too deeply with 400, and a malformed URL with problem+json', async () => {
    const deep = await stack.request(who.operator2!, {
      method: 'POST',
      url: '/v1/alerts/next',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'deep-1' },
      payload: `{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`,
    });
    expect(deep.statusCode).toBe(400);
    const badUrl = await stack.request(who.operator!, {
      method: 'POST',
      url: '/v1/alerts/%E0%A4%A/claim',
      payload: {},
    });
    expect(badUrl.statusCode).toBe(400);
    expect(badUrl.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(badUrl.json()).toMatchObject({ code: 'validation_failed' });
  });
});
