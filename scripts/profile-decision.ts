/**
 * What the API adds to one decision, small and reproducible (issue 17): one operator alone does
 * claim + call-result through the API and, alternately, the same two Updates with the raw Temporal
 * client, on a stack of its own (a Temporal dev server, a fresh PostgreSQL database on the local
 * server, a worker process and an API process, as `npm run bench` starts them). Prints the per-pair
 * overhead API − raw (median, p95) and the database commits the API adds per pair.
 *
 *   node --import tsx scripts/profile-decision.ts [--pairs 200] [--idempotency] [--cpu-profile /tmp/api.cpuprofile]
 *   node --import tsx scripts/profile-decision.ts --summarize /tmp/api.cpuprofile
 *
 * `--cpu-profile FILE` profiles the API's CPU over the measured pairs only (scripts/cpu-profile-on-signal.ts;
 * the profiler slows the API, so time without it); `--summarize` reads a .cpuprofile (this one or
 * `node --cpu-prof`'s) and prints its heaviest functions (self and total time) and the share of each
 * part of the process.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import postgres from 'postgres';
import type { AlertInput } from '#domain/alert.js';
import { resolvePolicy } from '#domain/policy.js';
import { callResultUpdate, claimUpdate } from '#workflows/messages.js';
import { findOrBuildTemporalCli } from './temporal-cli.js';
import { LOAD_POLICY, scratch, scratchDatabase, spawnPart, writeLoadPolicy } from './bench/scratch.js';
import { freePort, startDevServerOnFreePort } from './temporal-dev-server.js';

const option = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? '') : null;
};
const say = (line: string) => console.error(`[profile] ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;
  const ms = (n: number) => Math.round(n * 10) / 10;
  return { n: sorted.length, median: ms(at(0.5)), p95: ms(at(0.95)) };
}

/** CPU time (user + system) a process has used so far, from /proc. */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime and stime are fields 14 and 15 of stat, in clock ticks (100 a second on Linux).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

// --- a .cpuprofile, summarised ------------------------------------------------------------------------

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Which part of the process a frame belongs to, by where its code lives. */
const PARTS: [string, RegExp][] = [
  ['SQL client (postgres.js, drizzle)', /node_modules\/(postgres|drizzle-orm)\//],
  ['Temporal client (gRPC, protobuf, payloads)', /node_modules\/(@temporalio|@grpc|protobufjs|long)\//],
  ['response serialisation (fast-json-stringify)', /node_modules\/fast-json-stringify\/|\/fjs-|anonymous.*serialize/],
  ['validation (ajv)', /node_modules\/(ajv|@fastify\/ajv-compiler)/],
  ['logging (pino)', /node_modules\/(pino|sonic-boom|thread-stream)/],
  ['fastify and its plugins', /node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|secure-json-parse)/],
  ['tsx loader', /node_modules\/tsx\//],
  ['other dependencies', /node_modules\//],
  ['Fanzha code', /\/(api|services|read-model|db|domain|config|console|workflows)\//],
  ['Node (http, net, crypto, streams)', /^node:|^internal\//],
];

export function summarizeProfile(profile: CpuProfile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (n: ProfileNode) => {
    const { functionName, url, lineNumber } = n.callFrame;
    const file = url
      .replace(/^file:\/\//, '')
      .replace(/.*node_modules\//, '~/')
      .replace(process.cwd() + '/', '');
    return `${functionName || '(anonymous)'} ${file ? `${file}:${lineNumber + 1}` : ''}`.trim();
  };
  const part = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^file:\/\//, '');
    if (!url) return n.callFrame.functionName.startsWith('(') ? n.callFrame.functionName : 'Node (native)';
    return PARTS.find(([, pattern]) => pattern.test(url))?.[0] ?? 'Node (http, net, crypto, streams)';
  };
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const parts = new Map<string, number>();
  let all = 0;
  let idle = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    const node = byId.get(id)!;
    if (node.callFrame.functionName === '(idle)') {
      idle += ms;
      return;
    }
    all += ms;
    self.set(name(node), (self.get(name(node)) ?? 0) + ms);
    parts.set(part(node), (parts.get(part(node)) ?? 0) + ms);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const key = name(byId.get(at)!);
      if (seen.has(key)) continue;
      seen.add(key);
      total.set(key, (total.get(key) ?? 0) + ms);
    }
  });
  const table = (map: Map<string, number>, n: number) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([key, ms]) => `${((ms / all) * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(6)} ms  ${key}`)
      .join('\n');
  return [
    `busy ${all.toFixed(0)} ms, idle ${idle.toFixed(0)} ms`,
    '',
    'busy time by part of the process (self time of the frame on top):',
    table(parts, 20),
    '',
    `top ${top} functions by self time:`,
    table(self, top),
    '',
    `top ${top} functions by total time (callers included; async callers are not on the stack):`,
    table(new Map([...total].filter(([key]) => !key.startsWith('(root)') && !key.startsWith('(program)'))), top),
  ].join('\n');
}

// --- the run ------------------------------------------------------------------------------------------

async function run() {
  const pairs = Number(option('pairs') ?? 200);
  const warmup = 30;
  const withKeys = process.argv.includes('--idempotency');
  const profileFile = option('cpu-profile');
  const workspace = scratch('fanzha-profile-');
  try {
    const policyFile = writeLoadPolicy(workspace);
    const adminToken = randomBytes(24).toString('base64url');
    const taskQueue = `profile-${randomBytes(4).toString('hex')}`;

    let temporalAddress = process.env.TEMPORAL_ADDRESS;
    if (!temporalAddress) {
      const devServer = await startDevServerOnFreePort({
        cliPath: await findOrBuildTemporalCli(say),
        dbFile: path.join(workspace.dir, 'temporal.sqlite'),
        headless: true,
        log: say,
      });
      workspace.undo(() => devServer.stop());
      temporalAddress = devServer.address;
    }
    const databaseUrl = await scratchDatabase(workspace, 'fanzha_profile');

    const port = await freePort();
    const env = {
      ...process.env,
      DATABASE_URL: databaseUrl,
      TEMPORAL_ADDRESS: temporalAddress,
      FANZHA_ADMIN_TOKEN: adminToken,
      FANZHA_TASK_QUEUE: taskQueue,
      FANZHA_LOG_LEVEL: 'warn',
      FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
      FANZHA_POLICY_FILE: policyFile,
      FANZHA_BANK_SIMULATOR: '1',
      FANZHA_AUDIT_KEY: randomBytes(32).toString('hex'),
    };
    const startPart = (entry: string, name: string, partEnv: NodeJS.ProcessEnv, nodeFlags: string[] = []) => {
      const part = spawnPart(entry, name, partEnv, say, nodeFlags);
      workspace.undo(() => part.stop());
      return part;
    };
    // The worker first: it migrates the database before the API starts.
    startPart('worker/main.ts', 'worker', env);
    const api = startPart(
      'api/server.ts',
      'api',
      { ...env, PORT: String(port), ...(profileFile ? { FANZHA_CPU_PROFILE: path.resolve(profileFile) } : {}) },
      profileFile ? ['--import', './scripts/cpu-profile-on-signal.ts'] : [],
    );
    const base = `http://127.0.0.1:${port}`;
    for (
      let i = 0;
      !(await fetch(`${base}/readyz`).then(
        (r) => r.ok,
        () => false,
      ));
      i++
    ) {
      if (i > 600) throw new Error('the API did not become ready');
      await sleep(200);
    }

    const post = async (token: string, route: string, body: unknown, key?: string) => {
      const response = await fetch(`${base}${route}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          ...(key ? { 'idempotency-key': key } : {}),
        },
        body: JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status >= 300) throw new Error(`${route}: ${response.status} ${text.slice(0, 200)}`);
      return text ? JSON.parse(text) : null;
    };
    const user = async (roles: string[]) => {
      const created = await post(adminToken, '/v1/users', { name: `profile ${roles[0]}`, roles });
      const { token } = await post(adminToken, `/v1/users/${created.userId}/tokens`, {});
      return { userId: created.userId as string, name: created.name as string, token: token as string };
    };
    const platform = await user(['platform']);
    const operator = await user(['operator']);
    const connection = await Connection.connect({ address: temporalAddress });
    workspace.undo(() => connection.close());
    const client = new Client({ connection });
    const run = randomBytes(3).toString('hex');
    const alertInput = (alertId: string): AlertInput => ({
      alertId,
      source: 'ministry',
      issuedAt: new Date().toISOString(),
      riskLevel: 'medium',
      fraudType: 'investment',
      victim: { phone: '13812345678' },
      stationId: 'profile-01',
    });
    const count = warmup + pairs;
    say(`starting ${count} alerts through the API and ${count} directly`);
    for (let i = 0; i < count; i++) {
      await post(platform.token, '/v1/alerts', alertInput(`A${run}-${i}`));
      await client.workflow.start('AlertWorkflow', {
        taskQueue,
        workflowId: `alert-R${run}-${i}`,
        args: [
          {
            alert: alertInput(`R${run}-${i}`),
            receivedAt: new Date().toISOString(),
            policy: resolvePolicy(LOAD_POLICY).alert,
          },
        ],
      });
    }
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    workspace.undo(() => sql.end());
    const queued = async () => Number((await sql`select count(*) as n from alerts where state = 'queued'`)[0]!.n);
    while ((await queued()) < 2 * count) await sleep(250);
    await sleep(1000);

    const actor = { userId: operator.userId, name: operator.name, role: 'operator' as const };
    const viaApi = async (i: number) => {
      const id = `A${run}-${i}`;
      await post(operator.token, `/v1/alerts/${id}/claim`, {}, withKeys ? `claim-${id}` : undefined);
      await post(
        operator.token,
        `/v1/alerts/${id}/call-result`,
        { result: 'contacted', outcome: 'dissuaded' },
        withKeys ? `call-${id}` : undefined,
      );
    };
    const raw = async (i: number) => {
      const handle = client.workflow.getHandle(`alert-R${run}-${i}`);
      await handle.executeUpdate(claimUpdate, { args: [{ actor }] });
      await handle.executeUpdate(callResultUpdate, { args: [{ actor, result: 'contacted', outcome: 'dissuaded' }] });
    };
    const commits = async () =>
      Number((await sql`select xact_commit as n from pg_stat_database where datname = current_database()`)[0]!.n);
    const timed = async (task: () => Promise<void>) => {
      const t0 = performance.now();
      await task();
      return performance.now() - t0;
    };
    say(`warm-up: ${warmup} pairs each way`);
    for (let i = 0; i < warmup; i++) {
      await viaApi(i);
      await raw(i);
    }
    say(`measuring: ${pairs} pairs each way, alternating, one at a time${withKeys ? ', with Idempotency-Keys' : ''}`);
    if (profileFile) api.child.kill('SIGWINCH');
    const cpuBefore = cpuMs(api.child.pid);
    const apiMs: number[] = [];
    const rawMs: number[] = [];
    const overhead: number[] = [];
    let apiCommits = 0;
    let rawCommits = 0;
    for (let i = warmup; i < count; i++) {
      // Commits include the worker's projections (the same for both) and this script's own counting query.
      let before = await commits();
      const a = await timed(() => viaApi(i));
      apiCommits += (await commits()) - before;
      before = await commits();
      const r = await timed(() => raw(i));
      rawCommits += (await commits()) - before;
      apiMs.push(a);
      rawMs.push(r);
      overhead.push(a - r);
    }
    const apiCpuMs = cpuMs(api.child.pid) - cpuBefore;
    if (profileFile) {
      api.child.kill('SIGWINCH');
      await sleep(2000);
      say(`profile: ${profileFile}`);
    }
    await api.stop();
    const report = {
      pairs,
      idempotencyKeys: withKeys,
      api: quantiles(apiMs),
      raw: quantiles(rawMs),
      overheadPerPair: quantiles(overhead),
      apiCommitsPerPairBeyondRaw: Math.round(((apiCommits - rawCommits) / pairs) * 10) / 10,
      // CPU the API process spent per pair (its own work, whatever waits the machine adds to latencies).
      apiCpuMsPerPair: Math.round((apiCpuMs / pairs) * 10) / 10,
    };
    console.log(JSON.stringify(report, null, 2));
  } finally {
    await workspace.cleanup();
  }
}

const summarize = option('summarize');
if (summarize) console.log(summarizeProfile(JSON.parse(readFileSync(summarize, 'utf8')) as CpuProfile));
else await run();
