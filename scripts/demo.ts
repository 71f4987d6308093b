/**
 * `npm run demo`: a center's working day, played against a running system through its public API
 * (and the bank simulator's control endpoints). Seeded and reproducible: the platform pushes
 * warnings, operators take the next alert and report, stations visit, the 110 desk files
 * stop-payments, approvers decide — sometimes late, so escalations happen. Ends with the day's stats.
 *
 *   FANZHA_ADMIN_TOKEN=… npm run demo -- [--seed 7] [--minutes 2] [--alerts 240] [--cases 16] [--base http://127.0.0.1:3000]
 *
 * Start the system with FANZHA_POLICY_FILE=scripts/demo-policy.json so deadlines are short enough to be missed in two minutes.
 */
import { pathToFileURL } from 'node:url';
import { FRAUD_TYPES } from '#domain/alert.js';
import { answer, fanzhaClient, retryingFetch, type Answer, type RequestBody } from './api-client/index.js';
import { mulberry32 } from './seeded-random.js';

type AlertInput = RequestBody<'/v1/alerts', 'post'>;
type CallResult = RequestBody<'/v1/alerts/{alertId}/call-result', 'post'>;
type VisitOutcome = RequestBody<'/v1/alerts/{alertId}/visit-result', 'post'>['outcome'];
type Role = RequestBody<'/v1/users', 'post'>['roles'][number];

export interface DemoOptions {
  base: string;
  adminToken: string;
  seed: number;
  /** Real time the day takes. */
  durationMs: number;
  alerts: number;
  cases: number;
  operators: number;
  log?: (line: string) => void;
  /** Overwrites one progress line when true (a terminal). */
  live?: boolean;
}

export interface DemoResult {
  from: string;
  to: string;
  pushed: number;
  duplicatesPushed: number;
  reported: Record<string, number>;
  visits: Record<string, number>;
  filed: number;
  approved: number;
  rejected: number;
  frozen: number;
  stats: Answer<'/v1/stats', 'get'>;
}

function prng(seed: number) {
  const next = mulberry32(seed);
  return {
    next,
    int: (min: number, max: number) => min + Math.floor(next() * (max - min + 1)),
    pick<T>(weighted: [T, number][]): T {
      const total = weighted.reduce((s, [, w]) => s + w, 0);
      let r = next() * total;
      for (const [value, weight] of weighted) if ((r -= weight) < 0) return value;
      return weighted[weighted.length - 1]![0];
    },
  };
}

const STATIONS = ['haibowan-01', 'wuda-02', 'hainan-03', 'hongshan-04', 'qingshan-05', 'jiangan-06'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runDemo(options: DemoOptions): Promise<DemoResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const rand = prng(options.seed);
  const runTag = `${options.seed}-${Date.now().toString(36)}`;
  const startedAt = new Date();

  // Busy or briefly unavailable: the same request again, a little later each time.
  const api = (token: string) =>
    fanzhaClient(
      options.base,
      token,
      retryingFetch(10, (attempt) => 200 * (attempt + 1)),
    );
  const admin = api(options.adminToken);

  async function user(name: string, roles: Role[], stationId?: string) {
    const created = await answer(
      admin.POST('/v1/users', { body: { name, roles, ...(stationId ? { stationId } : {}) } }),
    ).catch((error: Error) => {
      throw new Error(`could not create demo user ${name}: ${error.message}`);
    });
    const { token } = await answer(
      admin.POST('/v1/users/{userId}/tokens', {
        params: { path: { userId: created.userId } },
        body: { label: 'demo' },
      }),
    );
    return { userId: created.userId, api: api(token) };
  }

  log(`Setting up the demo cast (seed ${options.seed}) against ${options.base} …`);
  const platform = await user('国家反诈平台', ['platform']);
  const operators = await Promise.all(
    Array.from({ length: options.operators }, (_, i) => user(`96110接线员${i + 1}`, ['operator'])),
  );
  const officers = await Promise.all(STATIONS.map((s, i) => user(`派出所民警${i + 1}`, ['station'], s)));
  const calltaker = await user('110接警员', ['calltaker']);
  const approvers = await Promise.all([user('审批员甲', ['approver']), user('审批员乙', ['approver'])]);
  const senior = await user('中心负责人', ['senior_approver']);
  const supervisor = await user('值班长', ['supervisor']);

  const result: Omit<DemoResult, 'stats'> = {
    from: startedAt.toISOString(),
    to: '',
    pushed: 0,
    duplicatesPushed: 0,
    reported: {},
    visits: {},
    filed: 0,
    approved: 0,
    rejected: 0,
    frozen: 0,
  };
  const count = (bucket: Record<string, number>, key: string) => (bucket[key] = (bucket[key] ?? 0) + 1);
  const dayEnds = Date.now() + options.durationMs;
  const simulatedHour = () => Math.min(23, Math.floor(((Date.now() - startedAt.getTime()) / options.durationMs) * 24));
  const scale = options.durationMs / 86_400_000;
  /** A simulated duration (in minutes of the center's day) as real milliseconds. */
  const minutes = (m: number) => Math.max(20, m * 60_000 * scale);
  const tasks: Promise<unknown>[] = [];

  // --- the platform pushes warnings through the day, more in the daytime -----------------------
  const arrivals = Array.from({ length: options.alerts }, () => {
    const hour = rand.pick<number>(
      Array.from({ length: 24 }, (_, h) => [h, h >= 8 && h <= 22 ? 3 : 1] as [number, number]),
    );
    return (hour + rand.next()) / 24;
  }).sort((a, b) => a - b);
  const pushed: AlertInput[] = [];
  tasks.push(
    (async () => {
      for (const [index, at] of arrivals.entries()) {
        const wait = startedAt.getTime() + at * options.durationMs - Date.now();
        if (wait > 0) await sleep(wait);
        const alert: AlertInput = {
          alertId: `DEMO-${runTag}-${String(index + 1).padStart(5, '0')}`,
          source: rand.pick([
            ['ministry', 5],
            ['province', 3],
            ['local', 2],
          ]) as AlertInput['source'],
          issuedAt: new Date().toISOString(),
          riskLevel: rand.pick<AlertInput['riskLevel']>([
            ['high', 2],
            ['medium', 5],
            ['low', 3],
          ]),
          fraudType: rand.pick(FRAUD_TYPES.map((f, i) => [f, i < 4 ? 4 : 1] as [AlertInput['fraudType'], number])),
          victim: { phone: `1${rand.int(3, 9)}${String(rand.int(0, 999_999_999)).padStart(9, '0')}`, name: undefined },
          stationId: STATIONS[rand.int(0, STATIONS.length - 1)]!,
        };
        const ingested = await platform.api.POST('/v1/alerts', { body: alert });
        if (ingested.response.status === 201) {
          result.pushed++;
          pushed.push(alert);
        }
        // Now and then the platform pushes the same warning again, sometimes with a higher risk.
        if (rand.next() < 0.05 && pushed.length > 0) {
          const again = pushed[rand.int(0, pushed.length - 1)]!;
          const repeat = await platform.api.POST('/v1/alerts', {
            body: { ...again, riskLevel: rand.next() < 0.5 ? 'high' : again.riskLevel },
          });
          if (repeat.response.status === 200) result.duplicatesPushed++;
        }
      }
    })(),
  );

  // --- operators take the next alert and call -----------------------------------------------------
  for (const operator of operators) {
    tasks.push(
      (async () => {
        while (Date.now() < dayEnds) {
          const next = await operator.api.POST('/v1/alerts/next');
          if (!next.data) {
            await sleep(minutes(2));
            continue;
          }
          const alertId = next.data.alertId;
          // Some calls drag on past the call deadline, so escalations happen.
          await sleep(rand.next() < 0.08 ? minutes(25) : minutes(rand.int(2, 8)));
          const reached = rand.next() < 0.65;
          const outcome = rand.pick<NonNullable<CallResult['outcome']>>([
            ['dissuaded', 70],
            ['false_positive', 15],
            ['already_defrauded', 8],
            ['refused', 7],
          ]);
          const body: CallResult = reached
            ? {
                result: 'contacted',
                outcome,
                ...(outcome === 'dissuaded' ? { amountAtRiskFen: rand.int(1, 500) * 100_00 } : {}),
              }
            : {
                result: 'not_reached',
                reason: rand.pick([
                  ['no_answer', 5],
                  ['busy', 2],
                  ['powered_off', 2],
                  ['invalid_number', 1],
                ]),
              };
          const reported = await operator.api.POST('/v1/alerts/{alertId}/call-result', {
            params: { path: { alertId } },
            body,
          });
          if (reported.data) count(result.reported, reached ? outcome : 'not_reached');
          if (reported.data?.outcome === 'defrauded' && rand.next() < 0.7) tasks.push(fileCase(alertId));
        }
      })(),
    );
  }

  // --- stations visit the people who could not be reached or would not listen ---------------------
  for (const officer of officers) {
    tasks.push(
      (async () => {
        while (Date.now() < dayEnds) {
          const pending = await officer.api.GET('/v1/alerts', {
            params: { query: { state: 'visit_pending', limit: 5 } },
          });
          for (const alert of pending.data?.items ?? []) {
            await sleep(minutes(rand.int(10, 40)));
            const outcome = rand.pick<VisitOutcome>([
              ['dissuaded', 6],
              ['false_positive', 2],
              ['already_defrauded', 1],
              ['not_found', 1],
            ]);
            const visited = await officer.api.POST('/v1/alerts/{alertId}/visit-result', {
              params: { path: { alertId: alert.alertId } },
              body: { outcome },
            });
            if (visited.data) count(result.visits, outcome);
          }
          await sleep(minutes(5));
        }
      })(),
    );
  }

  // --- 110 reports become stop-payments, with the money moving through layers of accounts ----------
  let accountSeq = 0;
  const account = () =>
    `62${String(options.seed).padStart(4, '0')}${String(Date.now() % 1e6).padStart(6, '0')}${String(++accountSeq).padStart(4, '0')}`;
  async function fileCase(alertId?: string) {
    const transfers = Array.from({ length: rand.int(1, 3) }, () => ({
      bank: rand.pick([
        ['ICBC', 3],
        ['CCB', 2],
        ['ABC', 2],
        ['BOC', 1],
        ['CMB', 1],
      ]),
      account: account(),
      amountFen: rand.int(5, 3000) * 100_00,
      transferredAt: new Date().toISOString(),
    }));
    for (const t of transfers) {
      const onward =
        rand.next() < 0.5 ? [{ bank: 'CMB', account: account(), amountFen: Math.floor(t.amountFen / 2) }] : [];
      await fetch(`${options.base}/sim/bank/accounts`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ bank: t.bank, account: t.account, balanceFen: rand.int(0, t.amountFen), onward }),
      }).catch(() => undefined);
    }
    const filed = await calltaker.api.POST('/v1/stop-payments', {
      body: {
        reportedAt: new Date().toISOString(),
        ...(alertId ? { alertId } : {}),
        victim: { name: '受害人', phone: `139${String(rand.int(0, 99_999_999)).padStart(8, '0')}` },
        transfers,
      },
    });
    if (!filed.data) return;
    result.filed++;
    const stopPaymentId = filed.data.stopPaymentId;
    const path = { stopPaymentId };
    // Mostly quick, sometimes late enough to escalate.
    await sleep(rand.next() < 0.2 ? minutes(30) : minutes(rand.int(1, 5)));
    const approver = approvers[rand.int(0, approvers.length - 1)]!;
    if (rand.next() < 0.08) {
      const rejected = await approver.api.POST('/v1/stop-payments/{stopPaymentId}/reject', {
        params: { path },
        body: { reason: '核实为误报' },
      });
      if (rejected.data) result.rejected++;
      return;
    }
    const approved = await approver.api.POST('/v1/stop-payments/{stopPaymentId}/approve', {
      params: { path },
      body: { note: '情况属实，立即止付' },
    });
    if (!approved.data) return;
    result.approved++;
    await sleep(minutes(rand.int(20, 60)));
    const current = await senior.api.GET('/v1/stop-payments/{stopPaymentId}', { params: { path } });
    for (const hold of current.data?.holds ?? []) {
      if (hold.state === 'stopped' && rand.next() < 0.6) {
        const frozen = await senior.api.POST('/v1/stop-payments/{stopPaymentId}/holds/{holdId}/freeze', {
          params: { path: { stopPaymentId, holdId: hold.holdId } },
          body: { legalDocRef: `冻字〔2026〕${rand.int(1, 999)}号` },
        });
        if (frozen.data) result.frozen++;
      }
    }
  }
  const reports = Array.from({ length: options.cases }, () => rand.next()).sort((a, b) => a - b);
  tasks.push(
    (async () => {
      for (const at of reports) {
        const wait = startedAt.getTime() + at * options.durationMs - Date.now();
        if (wait > 0) await sleep(wait);
        tasks.push(fileCase());
      }
    })(),
  );

  // --- a live progress line -------------------------------------------------------------------------
  const progress = setInterval(
    async () => {
      const list = (query: { state?: 'queued'; overdue?: boolean }) =>
        supervisor.api
          .GET('/v1/alerts', { params: { query: { ...query, limit: 200 } } })
          .then(({ data }) => data?.items.length ?? '?')
          .catch(() => '?');
      const [queued, overdue] = await Promise.all([list({ state: 'queued' }), list({ overdue: true })]);
      const line =
        `[${String(simulatedHour()).padStart(2, '0')}:00] alerts ${result.pushed} pushed · queue ${queued} · overdue ${overdue}` +
        ` · dissuaded ${(result.reported.dissuaded ?? 0) + (result.visits.dissuaded ?? 0)} · visits ${Object.values(result.visits).reduce((a, b) => a + b, 0)}` +
        ` · cases ${result.filed} filed, ${result.approved} approved, ${result.frozen} holds frozen`;
      if (options.live) process.stdout.write(`\r${line.padEnd(140)}`);
      else log(line);
    },
    options.live ? 1000 : Math.max(2000, options.durationMs / 10),
  );

  await sleep(options.durationMs);
  // Let the work already started finish (operators stop taking new alerts at the end of the day).
  for (let settled = 0; settled !== tasks.length;) {
    settled = tasks.length;
    await Promise.all(tasks);
  }
  clearInterval(progress);
  if (options.live) process.stdout.write('\n');
  result.to = new Date(Date.now() + 1000).toISOString();
  // The read model follows the workflows within moments: give the last pushes that moment.
  let stats = await answer(
    supervisor.api.GET('/v1/stats', { params: { query: { from: result.from, to: result.to } } }),
  );
  for (let tries = 0; tries < 60 && stats.alerts.received < result.pushed; tries++) {
    await sleep(250);
    stats = await answer(supervisor.api.GET('/v1/stats', { params: { query: { from: result.from, to: result.to } } }));
  }
  return { ...result, stats };
}

function printSummary(result: DemoResult) {
  const s = result.stats;
  const cny = (fen: number) => `${(fen / 100).toLocaleString('zh-CN', { minimumFractionDigits: 2 })} CNY`;
  console.log('\nThe day in numbers (GET /v1/stats):');
  console.log(`  alerts received        ${s.alerts.received} (platform repeats: ${result.duplicatesPushed})`);
  console.log(
    `  closed                 ${s.alerts.closed}: ${Object.entries(s.alerts.closedByOutcome)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  console.log(`  prevented loss         ${cny(s.alerts.preventedLossFen)}`);
  console.log(
    `  deadlines missed       ${s.alerts.deadlineBreaches.total} (claim ${s.alerts.deadlineBreaches.claim}, call ${s.alerts.deadlineBreaches.call}, visit ${s.alerts.deadlineBreaches.visit}, approval ${s.alerts.deadlineBreaches.approval})`,
  );
  console.log(
    `  receipt → first call   median ${s.alerts.receiptToFirstCallSeconds.median ?? '–'} s, p90 ${s.alerts.receiptToFirstCallSeconds.p90 ?? '–'} s`,
  );
  console.log(
    `  stop-payments          ${s.stopPayments.requested} filed, ${s.stopPayments.approved} approved, ${s.stopPayments.rejected} rejected, ${s.stopPayments.majorCases} major`,
  );
  console.log(
    `  money held             stopped ${cny(s.stopPayments.stoppedFen)}, frozen ${cny(s.stopPayments.frozenFen)}`,
  );
  console.log(`  report → first stop    median ${s.stopPayments.reportToFirstStopSeconds.median ?? '–'} s`);
}

function arg(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] ? process.argv[index + 1]! : fallback;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const adminToken = process.env.FANZHA_ADMIN_TOKEN;
  if (!adminToken) {
    console.error(
      'Set FANZHA_ADMIN_TOKEN to the admin token the system was started with (the demo creates its own users).',
    );
    process.exit(2);
  }
  const result = await runDemo({
    base: arg('base', process.env.FANZHA_BASE ?? 'http://127.0.0.1:3000').replace(/\/$/, ''),
    adminToken,
    seed: Number(arg('seed', '1')),
    durationMs: Number(arg('minutes', '2')) * 60_000,
    alerts: Number(arg('alerts', '240')),
    cases: Number(arg('cases', '16')),
    operators: Number(arg('operators', '7')),
    live: process.stdout.isTTY,
  });
  printSummary(result);
}
