/**
 * `npm run cluster -- [--workers N] [--apis M] …`: Fanzha on a self-hosted Temporal Server and
 * PostgreSQL, several processes of each kind (README "At scale"). Builds the server once (cached per
 * user), creates or upgrades its schemas, starts everything, prints where it is. Ctrl-C or SIGTERM
 * stops all of it; SIGHUP rolls the workers one at a time onto the workflow code now on disk.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { DataDirLocked, lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { startCluster, type Cluster } from './cluster/cluster.js';

const say = (line: string) => console.error(`[cluster] ${line}`);

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '2' },
    apis: { type: 'string', default: '2' },
    'database-url': {
      type: 'string',
      default: process.env.FANZHA_CLUSTER_DATABASE_URL ?? LOCAL_POSTGRES_URL,
    },
    name: { type: 'string', default: 'fanzha' },
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: process.env.PORT ?? '3000' },
    'temporal-port': { type: 'string', default: '7233' },
    shards: { type: 'string', default: '16' },
    'retention-days': { type: 'string', default: '30' },
    namespace: { type: 'string', default: 'default' },
    'data-dir': { type: 'string', default: process.env.FANZHA_DATA_DIR ?? './data' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(`npm run cluster -- [options]
  --workers N          worker processes (2)
  --apis M             API processes, on ports port+1 … port+M (2)
  --port P             the one address in front of the APIs (PORT or 3000)
  --database-url URL   PostgreSQL whose user may create databases (FANZHA_CLUSTER_DATABASE_URL or the local server)
  --name NAME          databases NAME_temporal, NAME_temporal_visibility and NAME (Fanzha's own) (fanzha)
  --temporal-port T    the Temporal frontend; the server also binds T+1…T+3, T+10, T+20, T+100…T+103 (7233)
  --shards S           history shards, fixed when the schema is first made (16)
  --retention-days D   how long Temporal keeps closed runs (30)
  --namespace NS       (default)
  --data-dir DIR       configuration, logs and the audit key under DIR/cluster (FANZHA_DATA_DIR or ./data)`);
  process.exit(0);
}

function count(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    say(`--${name} must be a whole number from ${min} to ${max}, not "${raw}"`);
    process.exit(2);
  }
  return n;
}

const options = {
  workers: count('workers', values.workers, 1, 64),
  apis: count('apis', values.apis, 1, 64),
  port: count('port', values.port, 1, 65535),
  // Temporal keeps membership ports (T+100…T+103) in a smallint.
  temporalPort: count('temporal-port', values['temporal-port'], 1, 32_664),
  historyShards: count('shards', values.shards, 1, 16384),
  retentionDays: count('retention-days', values['retention-days'], 1, 3650),
};
if (!/^[a-z_][a-z0-9_]{0,40}$/.test(values.name)) {
  say('--name must be lower-case letters, digits and _ (it names databases)');
  process.exit(2);
}
const dataDir = path.resolve(values['data-dir']);
let lock: DataDirLock;
try {
  lock = lockDataDir(dataDir, 'npm run cluster', say);
} catch (error) {
  if (!(error instanceof DataDirLocked)) throw error;
  say(`not starting: ${error.message}`);
  process.exit(2);
}

let cluster: Cluster | null = null;
let stopping = false;
async function stop(signal: string) {
  if (stopping) {
    say('stopping now');
    process.exit(1);
  }
  stopping = true;
  say(`stopping (${signal}): the balancer, the APIs, the workers, the bank simulator, then Temporal`);
  try {
    await cluster?.stop();
  } finally {
    lock.release();
    process.exit(0);
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop(signal));
process.on('SIGHUP', () => {
  if (!cluster || stopping) return;
  say('SIGHUP: rolling the workers onto the workflow code on disk, one at a time');
  cluster.rollWorkers().then(
    () => say('rolling upgrade done'),
    (error) => say(`rolling upgrade failed: ${(error as Error).message}`),
  );
});

try {
  cluster = await startCluster({
    ...options,
    adminUrl: values['database-url'],
    name: values.name,
    host: values.host,
    namespace: values.namespace,
    dataDir,
    log: say,
  });
} catch (error) {
  say(`could not start: ${(error as Error).message}`);
  await stop('start failed');
}
const c = cluster!;
lock.setChildren([c.temporal, ...c.workers, ...c.apis].map((p) => p.pid).filter((pid): pid is number => pid !== null));
say(`Fanzha is up on a Temporal cluster:
  API and console   ${c.url}   (balanced over ${c.apiUrls.join(', ')})
  Temporal          ${c.temporalAddress}   namespace "${values.namespace}", ${options.historyShards} history shards, retention ${options.retentionDays} days
  workers           ${options.workers} (pids ${c.workers.map((w) => w.pid).join(', ')})
  Fanzha database   ${c.databaseUrl.replace(/\/\/[^@]*@/, '//…@')}
  banks             ${c.bankGatewayUrl}${process.env.BANK_GATEWAY_URL ? '' : '   (the bank simulator: no real bank learns of a stop)'}
  logs              ${c.logDir}
Ctrl-C stops everything; \`kill -HUP ${process.pid}\` rolls the workers onto the code on disk.`);
