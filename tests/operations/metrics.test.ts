/**
 * What Prometheus scrapes, against a real stack: the API's /metrics (its token, request figures per
 * route and status, and the supervisor's figures from the database) and the worker's exporter (the
 * Temporal SDK's own metrics and the bank gateway calls by outcome) move as work happens.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installWorkerRuntime } from '#worker/worker.js';
import { alertApi, newAlert, waitFor } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { account, bankSimulator, caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { runArchiver } from '../audit/helpers.js';

const TOKEN = 'prometheus-scrape-token-0123456789';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, sample lines only. */
function parse(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum over every series of `name` carrying these labels; undefined when there is none. */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length ? matching.reduce((sum, s) => sum + s.value, 0) : undefined;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let stack: Stack;
let workerMetricsUrl: string;
let platform: Caller, supervisor: Caller, calltaker: Caller, approver: Caller;

beforeAll(async () => {
  // This file's process runs the worker: its runtime serves the SDK's metrics, as `npm run worker` does
  // with FANZHA_WORKER_METRICS_ADDRESS (the stack's own quiet runtime then finds one installed).
  const port = await freePort();
  installWorkerRuntime('silent', `127.0.0.1:${port}`);
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
  stack = await startStack({
    env: { FANZHA_METRICS_TOKEN: TOKEN, FANZHA_AUTH_FAILURES_PER_MINUTE: '5' },
    policy: {
      // Level 1 lasts one deadline's span (then level 2): long enough for a scrape to see it.
      alert: { claimSla: { high: '5s', medium: '10m', low: '10m' } },
      // A stop held for an hour is "about to lapse": within the default 12 h reminder to freeze it.
      stopPayment: { approvalSla: '5s', stopValidity: '1h' },
    },
  });
  [platform, supervisor, calltaker, approver] = await Promise.all([
    stack.user(['platform']),
    stack.user(['supervisor']),
    stack.user(['calltaker']),
    stack.user(['approver']),
  ]);
});
afterAll(() => stack?.close());

async function scrapeApi(): Promise<Sample[]> {
  const response = await stack.request(null, {
    method: 'GET',
    url: '/metrics',
    headers: { authorization: `Bearer ${TOKEN}` },
  });
  expect(response.statusCode, response.body).toBe(200);
  expect(response.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
  return parse(response.body);
}

async function scrapeWorker(): Promise<Sample[]> {
  const response = await fetch(workerMetricsUrl);
  expect(response.status).toBe(200);
  return parse(await response.text());
}

/** Scrapes until `probe` holds, returning the samples it held on. */
const scrapeUntil = (what: string, scrape: () => Promise<Sample[]>, probe: (s: Sample[]) => boolean, ms = 20_000) =>
  waitFor(
    what,
    async () => {
      const samples = await scrape();
      return probe(samples) ? samples : undefined;
    },
    ms,
  );

describe('the API’s /metrics', () => {
  it('answers only to its own token, with problem+json', async () => {
    for (const headers of [{}, { authorization: 'Bearer not-the-metrics-token-at-all' }]) {
      const response = await stack.request(null, { method: 'GET', url: '/metrics', headers });
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.body).not.toContain('fanzha_');
    }
    // A user's API token is not the scraper's.
    const asUser = await stack.request(supervisor, { method: 'GET', url: '/metrics' });
    expect(asUser.statusCode).toBe(401);
    // The OpenAPI document is the same wherever the token is set or not (the committed openapi.json).
    const openapi = (await stack.request(null, { method: 'GET', url: '/openapi.json' })).json();
    expect(openapi.paths['/metrics']).toBeUndefined();
    expect(Object.keys(openapi.paths).sort()).toEqual(
      Object.keys(JSON.parse(readFileSync('openapi.json', 'utf8')).paths).sort(),
    );
  });

  it('refuses an address that keeps guessing the token, as it refuses guessed user tokens', async () => {
    const from = (remoteAddress: string, token: string) =>
      stack.request(null, {
        method: 'GET',
        url: '/metrics',
        remoteAddress,
        headers: { authorization: `Bearer ${token}` },
      });
    for (let i = 0; i < 5; i++) expect((await from('203.0.113.7', `guess-${i}-0123456789abcdef`)).statusCode).toBe(401);
    const blocked = await from('203.0.113.7', TOKEN);
    expect(blocked.statusCode).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    expect((await from('198.51.100.2', TOKEN)).statusCode).toBe(200);
  });

  it('counts alerts queued, then overdue at escalation level 1, and the notification left undelivered', async () => {
    const before = await scrapeApi();
    const queued = (s: Sample[]) => value(s, 'fanzha_alerts_open', { state: 'queued', escalation_level: '0' }) ?? 0;
    const overdue1 = (s: Sample[]) =>
      value(s, 'fanzha_alerts_overdue', { state: 'queued', escalation_level: '1' }) ?? 0;
    const undelivered = (s: Sample[]) => value(s, 'fanzha_notifications_undelivered')!;
    const ingests = (s: Sample[]) =>
      value(s, 'http_request_duration_seconds_count', { method: 'POST', route: '/v1/alerts', status_code: '201' }) ?? 0;

    const waiting = newAlert({ riskLevel: 'medium' });
    expect((await alertApi(stack).ingest(platform, waiting)).statusCode).toBe(201);
    const afterOne = await scrapeUntil('one more queued alert', scrapeApi, (s) => queued(s) === queued(before) + 1);
    expect(ingests(afterOne)).toBe(ingests(before) + 1);
    expect(overdue1(afterOne)).toBe(overdue1(before));

    // A high-risk alert nobody claims misses its 5 s deadline: overdue at level 1, the supervisor notified.
    const late = newAlert({ riskLevel: 'high' });
    expect((await alertApi(stack).ingest(platform, late)).statusCode).toBe(201);
    const afterDeadline = await scrapeUntil(
      'an overdue alert at level 1',
      scrapeApi,
      (s) => overdue1(s) === overdue1(before) + 1 && undelivered(s) > undelivered(before),
    );
    expect(queued(afterDeadline)).toBe(queued(before) + 1); // the medium one is still at level 0
    expect(value(afterDeadline, 'fanzha_alerts_open', { state: 'queued', escalation_level: '1' })).toBe(
      overdue1(afterDeadline),
    );
    // This stack runs no dispatcher: the escalation's notification waits, and its age shows.
    expect(value(afterDeadline, 'fanzha_notification_oldest_undelivered_age_seconds')).toBeGreaterThan(0);
    expect(ingests(afterDeadline)).toBe(ingests(before) + 2);
    // The route is the pattern, never the alert's ID.
    expect(afterDeadline.some((s) => Object.values(s.labels).some((v) => v.includes(late.alertId)))).toBe(false);
  });

  it('counts a case pending approval past its deadline, then the stop about to lapse; the worker counts the bank calls by outcome', async () => {
    const pending = (s: Sample[], level: string) =>
      value(s, 'fanzha_stop_payments_open', { state: 'pending_approval', escalation_level: level }) ?? 0;
    const pendingLate = (s: Sample[]) => pending(s, '1') + pending(s, '2');
    const expiringStops = (s: Sample[]) => value(s, 'fanzha_holds_expiring', { state: 'stopped' })!;
    const bankCalls = (s: Sample[], outcome: string) =>
      value(s, 'fanzha_bank_gateway_calls_total', { action: 'stop-payments', outcome }) ?? 0;
    const [before, workerBefore] = await Promise.all([scrapeApi(), scrapeWorker()]);
    expect(value(before, 'fanzha_holds_expiring', { state: 'stopped', within_seconds: String(12 * 3600) })).toBe(
      expiringStops(before),
    );

    const held = account();
    await bankSimulator(stack).seed({ bank: 'ICBC', account: held, balanceFen: 10_000_000 });
    const filed = await stopPaymentApi(stack).file(calltaker, newFiling([{ bank: 'ICBC', account: held }]));
    expect(filed.statusCode, filed.body).toBe(201);
    const id = filed.json().stopPaymentId as string;
    await scrapeUntil('the case pending approval', scrapeApi, (s) => pending(s, '0') === pending(before, '0') + 1);
    const escalated = await scrapeUntil(
      'the case past its approval deadline',
      scrapeApi,
      (s) => pendingLate(s) === pendingLate(before) + 1,
    );
    expect(pending(escalated, '0')).toBe(pending(before, '0'));

    // The bank's first answer is an outage (retried), the second a stop.
    await bankSimulator(stack).faults({ failNext: 1 });
    const approved = await stopPaymentApi(stack).approve(approver, id, { note: '情况属实' });
    expect(approved.statusCode, approved.body).toBe(200);
    await caseWhen(stack, id, (v) => v.holds.some((h) => h.state === 'stopped'));

    const afterStop = await scrapeUntil(
      'the stop about to lapse',
      scrapeApi,
      (s) => expiringStops(s) === expiringStops(before) + 1,
    );
    expect(pendingLate(afterStop)).toBe(pendingLate(before));
    const soonest = value(afterStop, 'fanzha_hold_soonest_expiry_seconds', { state: 'stopped' })!;
    expect(soonest).toBeGreaterThan(3000);
    expect(soonest).toBeLessThanOrEqual(3600);

    const workerAfter = await scrapeUntil(
      'the bank calls on the worker',
      scrapeWorker,
      (s) => bankCalls(s, 'stopped') === bankCalls(workerBefore, 'stopped') + 1,
    );
    expect(bankCalls(workerAfter, 'bank_unavailable')).toBe(bankCalls(workerBefore, 'bank_unavailable') + 1);
    expect(
      value(workerAfter, 'fanzha_bank_gateway_call_duration_count', { action: 'stop-payments', outcome: 'stopped' }),
    ).toBe(bankCalls(workerAfter, 'stopped'));
  });

  it('shows the archive lag while a closed alert waits for the archiver, and 0 once archived', async () => {
    const lag = (s: Sample[]) => value(s, 'fanzha_archive_lag_seconds')!;
    const alert = newAlert({ riskLevel: 'low' });
    expect((await alertApi(stack).ingest(platform, alert)).statusCode).toBe(201);
    await waitFor(
      'the alert in the read model',
      async () => (await alertApi(stack).get(supervisor, alert.alertId)).statusCode === 200,
    );
    const cancelled = await alertApi(stack).cancel(supervisor, alert.alertId, { reason: '平台撤回' });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const waiting = await scrapeUntil('a closed alert waiting for the archive', scrapeApi, (s) => lag(s) > 1);
    expect(value(waiting, 'fanzha_archive_last_archived_timestamp_seconds')).toBe(0); // never

    await waitFor('the archiver to take it', async () => (await runArchiver(stack)).archived > 0, 30_000);
    const archived = await scrapeUntil('nothing waiting for the archive', scrapeApi, (s) => lag(s) === 0);
    expect(value(archived, 'fanzha_archive_last_archived_timestamp_seconds')! * 1000).toBeGreaterThan(
      Date.now() - 60_000,
    );
  });
});

describe('the API’s /metrics without its database', () => {
  it('still serves the request figures, and no stale supervisor figures', async () => {
    const admin = postgres(inject('adminDatabaseUrl'), { max: 1, onnotice: () => {} });
    const name = new URL(stack.databaseUrl).pathname.slice(1);
    try {
      await admin.unsafe(`alter database ${name} allow_connections false`);
      await admin`select pg_terminate_backend(pid) from pg_stat_activity where datname = ${name} and pid <> pg_backend_pid()`;
      const down = await scrapeUntil(
        'a scrape without the database',
        scrapeApi,
        (s) => value(s, 'fanzha_figures_up') === 0,
      );
      for (const figure of ['fanzha_alerts_open', 'fanzha_notifications_undelivered', 'fanzha_archive_lag_seconds'])
        expect(value(down, figure), figure).toBeUndefined();
      expect(value(down, 'http_request_duration_seconds_count', { route: '/metrics' })).toBeGreaterThan(0);
    } finally {
      await admin.unsafe(`alter database ${name} allow_connections true`);
      await admin.end();
    }
    const back = await scrapeUntil('the figures back', scrapeApi, (s) => value(s, 'fanzha_figures_up') === 1);
    expect(value(back, 'fanzha_archive_lag_seconds')).toBe(0);
  });
});

describe('the worker’s exporter', () => {
  it('serves the Temporal SDK’s own metrics, moving as workflow tasks run', async () => {
    const tasks = (s: Sample[]) => value(s, 'temporal_workflow_task_schedule_to_start_latency_count')!;
    const before = await scrapeWorker();
    expect(tasks(before)).toBeGreaterThan(0);
    for (const name of ['temporal_sticky_cache_size', 'temporal_worker_task_slots_available'])
      expect(value(before, name), name).toBeDefined();
    expect(value(before, 'temporal_sticky_cache_hit_total')).toBeDefined();

    expect((await alertApi(stack).ingest(platform, newAlert({ riskLevel: 'low' }))).statusCode).toBe(201);
    const stickyHits = (s: Sample[]) =>
      value(s, 'temporal_sticky_cache_hit_total', { workflow_type: 'AlertWorkflow' })!;
    // Its first task starts it; the next (after its projection) finds it in the worker's cache.
    const after = await scrapeUntil(
      'more workflow tasks, one of them served from the cache',
      scrapeWorker,
      (s) => tasks(s) > tasks(before) && stickyHits(s) > stickyHits(before),
    );
    expect(value(after, 'temporal_workflow_task_schedule_to_start_latency_sum')).toBeGreaterThanOrEqual(
      value(before, 'temporal_workflow_task_schedule_to_start_latency_sum')!,
    );
  });
});
