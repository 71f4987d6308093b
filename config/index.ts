/**
 * All configuration, read and validated once at start. A bad value stops the process with a message
 * naming the variable and what it expects. Temporal's own variables (TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_*, TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE) are
 * read through @temporalio/envconfig so an existing Temporal setup works unchanged.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { parseDuration } from '#domain/duration.js';
import { resolvePolicy, PolicyError, type Policy } from '#domain/policy.js';

export type Env = Record<string, string | undefined>;

export interface FanzhaConfig {
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
  /** null: the embedded PGlite database under dataDir. */
  databaseUrl: string | null;
  temporal: {
    /** true when no TEMPORAL_ADDRESS is given: `npm start` runs its own dev server. */
    embedded: boolean;
    devServerPort: number;
    devServerUiPort: number;
    /** Where people open the Temporal Web UI (FANZHA_TEMPORAL_UI_URL; the dev server's own when embedded). */
    webUiUrl: string | null;
    connect: ClientConnectConfig;
    namespace: string;
    taskQueue: string;
  };
  adminToken: string | null;
  /** The key `npm run backup` encrypts with and `npm run restore` decrypts with (FANZHA_BACKUP_KEY, 32 bytes); never logged, never in a backup. */
  backupKey: Buffer | null;
  /**
   * Scheduled backups of the embedded system (FANZHA_BACKUP_EVERY, FANZHA_BACKUP_DIR, FANZHA_BACKUP_KEEP):
   * a Temporal Schedule writes one into `dir` every `everyMs` and keeps the newest `keep`. null: none.
   */
  backup: { everyMs: number; dir: string; keep: number } | null;
  policy: Policy;
  /** The banks' gateway (BANK_GATEWAY_URL); null only with the bank simulator. */
  bankGatewayUrl: string | null;
  /**
   * The bank simulator, served by the API under /sim/bank and told every instruction: only in the
   * embedded `npm start` or with FANZHA_BANK_SIMULATOR=1, and never beside a real gateway.
   */
  bankSimulator: boolean;
  rateLimitPerMinute: number;
  /**
   * Which proxies in front of the API to believe about the client's address (X-Forwarded-For), for the
   * per-address limits (FANZHA_TRUST_PROXY): false (the default: the socket's peer is the client) or
   * the proxies' addresses/CIDRs separated by commas.
   */
  trustProxy: false | string;
  /** Failed authentications one address may make a minute; past it the address is refused before any token lookup. */
  authFailuresPerMinute: number;
  /**
   * How long an API process keeps a verified token → user without asking the database again
   * (FANZHA_TOKEN_CACHE_SECONDS; 0: never). A revocation, a disabled user or a role change empties
   * every process's cache at once (LISTEN/NOTIFY); this bounds what a missed notification could cost.
   */
  tokenCacheMs: number;
  /** Above this event-loop delay the API sheds load with 503 + Retry-After instead of answering ever later (FANZHA_MAX_EVENT_LOOP_DELAY_MS); 0: never. */
  maxEventLoopDelayMs: number;
  /**
   * Workflows a worker keeps in memory between their tasks (FANZHA_WORKER_CACHED_WORKFLOWS). The rest
   * are replayed from their history when their next task comes: memory bounded by the open workflows a
   * center acts on at once, not by every open one. README "Worker memory" has the measurement.
   */
  workerCachedWorkflows: number;
  /**
   * The memory a worker process is sized for (FANZHA_WORKER_MEMORY_MB): `npm start`, `npm run cluster`
   * and `npm run worker` start it with the V8 heap limit derived from it (workerNodeFlags), and the
   * workflow cache is sized from it unless FANZHA_WORKER_CACHED_WORKFLOWS says otherwise. README
   * "Worker memory" has the measurement behind the numbers.
   */
  workerMemoryMb: number;
  /** The center's time zone: every time the console shows is in it (FANZHA_TIME_ZONE); stored times are UTC. */
  timeZone: string;
  /** The center's name as its printed notices carry it (FANZHA_CENTER_NAME). */
  centerName: string;
  audit: {
    /** How often the archiver schedule copies closed histories into audit_archive (FANZHA_ARCHIVE_EVERY). */
    archiveEveryMs: number;
    /** A prebuilt workflow bundle to replay against (FANZHA_REPLAY_BUNDLE); null: bundle workflows/ once, lazily. */
    replayBundlePath: string | null;
    /**
     * The archive chain's HMAC key (FANZHA_AUDIT_KEY); never logged. null: none given — the embedded
     * database then keeps one in its data folder (see archiveKey), anything else may not write the archive.
     */
    key: string | null;
  };
  metrics: {
    /**
     * The bearer token Prometheus sends to the API's /metrics (FANZHA_METRICS_TOKEN); null: no /metrics.
     * A token of its own, not a user's: a scraper holds no role and reads only counts.
     */
    token: string | null;
    /** host:port where a worker serves the Temporal SDK's metrics (FANZHA_WORKER_METRICS_ADDRESS); null: none. */
    workerAddress: string | null;
  };
  notifications: {
    /** Webhook per recipient role (FANZHA_WEBHOOK_URL_<ROLE>); roles without one are delivered to the log. */
    webhooks: Partial<Record<NotificationRecipient, string>>;
    /** Signs every webhook (Standard Webhooks): `whsec_<base64>`, or a plain secret whose UTF-8 bytes are the key. */
    webhookSecret: string | null;
    pollIntervalMs: number;
  };
  /**
   * OpenTelemetry traces, off unless the standard OTEL_* variables ask for them: an OTLP endpoint
   * (OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) or OTEL_TRACES_EXPORTER=otlp;
   * OTEL_SDK_DISABLED=true or OTEL_TRACES_EXPORTER=none turn them off. The exporter reads the rest
   * (headers, timeout) from the environment itself.
   */
  tracing: {
    enabled: boolean;
    /** OTEL_SERVICE_NAME; null: each process names itself (fanzha-api, fanzha-worker, fanzha). */
    serviceName: string | null;
  };
}

export const NOTIFICATION_RECIPIENTS = [
  'supervisor',
  'center_head',
  'criminal_squad',
  'senior_approver',
  'approver',
] as const;
export type NotificationRecipient = (typeof NOTIFICATION_RECIPIENTS)[number];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    expected: string,
    got: string | undefined,
  ) {
    super(`${variable} ${expected} (got ${got === undefined ? 'nothing' : JSON.stringify(got)})`);
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || value < min || value > max)
    throw new ConfigError(name, `must be a whole number from ${min} to ${max}`, raw);
  return value;
}

function oneOf(env: Env, name: string, allowed: string[], fallback: string): string {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!allowed.includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}`, raw);
  return raw;
}

function url(env: Env, name: string, protocols: string[]): string | null {
  const raw = env[name];
  if (raw === undefined || raw === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
  }
  if (!protocols.includes(parsed.protocol))
    throw new ConfigError(name, `must be a URL starting with ${protocols.join(' or ')}`, redactUrl(raw));
  return raw.replace(/\/+$/, '');
}

/** Never echo a password back into a log. */
function redactUrl(raw: string): string {
  return raw.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

function timeZone(env: Env): string {
  const zone = env.FANZHA_TIME_ZONE || 'Asia/Shanghai';
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
  } catch {
    throw new ConfigError('FANZHA_TIME_ZONE', 'must be an IANA time zone such as Asia/Shanghai', zone);
  }
  return zone;
}

function policy(env: Env): Policy {
  const file = env.FANZHA_POLICY_FILE;
  if (!file) return resolvePolicy();
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ConfigError('FANZHA_POLICY_FILE', `must name a readable JSON file (${(error as Error).message})`, file);
  }
  try {
    return resolvePolicy(parsed);
  } catch (error) {
    if (error instanceof PolicyError)
      throw new ConfigError('FANZHA_POLICY_FILE', `must hold a valid policy: ${error.problems.join('; ')}`, file);
    throw error;
  }
}

function temporalConnect(env: Env): ClientConnectConfig {
  try {
    const overrideEnvVars = Object.fromEntries(
      Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined),
    );
    return loadClientConnectConfig({ overrideEnvVars });
  } catch (error) {
    throw new ConfigError(
      'TEMPORAL_*',
      `must be a valid Temporal client configuration: ${(error as Error).message}`,
      undefined,
    );
  }
}

/** `whsec_<base64>` of 24–64 bytes, the key size the Standard Webhooks specification asks for. */
function isStandardWebhookSecret(secret: string) {
  const base64 = secret.slice('whsec_'.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) return false;
  const bytes = Buffer.from(base64, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

function notificationConfig(env: Env): FanzhaConfig['notifications'] {
  const webhooks: FanzhaConfig['notifications']['webhooks'] = {};
  for (const role of NOTIFICATION_RECIPIENTS) {
    const hook = url(env, `FANZHA_WEBHOOK_URL_${role.toUpperCase()}`, ['http:', 'https:']);
    if (hook) webhooks[role] = hook;
  }
  const webhookSecret = env.FANZHA_WEBHOOK_SECRET || null;
  if (Object.keys(webhooks).length > 0 && (!webhookSecret || webhookSecret.length < 16))
    throw new ConfigError(
      'FANZHA_WEBHOOK_SECRET',
      'must be at least 16 characters when a FANZHA_WEBHOOK_URL_<ROLE> is set (it signs every webhook)',
      webhookSecret ? '<redacted>' : undefined,
    );
  if (webhookSecret?.startsWith('whsec_') && !isStandardWebhookSecret(webhookSecret))
    throw new ConfigError(
      'FANZHA_WEBHOOK_SECRET',
      'a Standard Webhooks secret must be "whsec_" and the base64 of 24 to 64 random bytes',
      '<redacted>',
    );
  return { webhooks, webhookSecret, pollIntervalMs: integer(env, 'FANZHA_NOTIFY_POLL_MS', 1000, 10, 600_000) };
}

function tracingConfig(env: Env): FanzhaConfig['tracing'] {
  const serviceName = env.OTEL_SERVICE_NAME || null;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return { enabled: false, serviceName };
  const exporter = env.OTEL_TRACES_EXPORTER?.trim().toLowerCase() || null;
  if (exporter === 'none') return { enabled: false, serviceName };
  if (exporter !== null && exporter !== 'otlp')
    throw new ConfigError('OTEL_TRACES_EXPORTER', 'must be "otlp" or "none" (traces go out over OTLP only)', exporter);
  const protocol = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL;
  if (protocol && protocol !== 'http/protobuf')
    throw new ConfigError(
      'OTEL_EXPORTER_OTLP_PROTOCOL',
      'must be "http/protobuf" (the OTLP exporter Fanzha ships)',
      protocol,
    );
  const endpoint =
    url(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', ['http:', 'https:']) ??
    url(env, 'OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']);
  return { enabled: exporter === 'otlp' || endpoint !== null, serviceName };
}

/** FANZHA_BACKUP_KEY: 64 hex characters (`openssl rand -hex 32`), an AES-256 key; an error never shows it. */
function backupKey(env: Env): Buffer | null {
  const raw = env.FANZHA_BACKUP_KEY?.trim();
  if (!raw) return null;
  if (!/^[0-9a-fA-F]{64}$/.test(raw))
    throw new ConfigError('FANZHA_BACKUP_KEY', 'must be 64 hex characters (e.g. `openssl rand -hex 32`)', '<redacted>');
  return Buffer.from(raw, 'hex');
}

/** What a scheduled backup's folder must be, in a configuration error. */
const BACKUP_DIR_EXPECTED =
  'must name the folder scheduled backups are written to when FANZHA_BACKUP_EVERY is set: outside the data folder (FANZHA_DATA_DIR), best on another disk';

/**
 * FANZHA_BACKUP_EVERY/_DIR/_KEEP: only for the embedded system (its own Temporal dev server and PGlite
 * under the data folder), the one whose databases Fanzha itself can copy consistently. A cluster's
 * PostgreSQL and Temporal persistence are backed up with their own tools; a schedule there would
 * back up nothing, so asking for one is an error rather than a silent no-op.
 */
function backupSchedule(
  env: Env,
  place: { dataDir: string; embedded: boolean; databaseUrl: string | null; key: Buffer | null },
): FanzhaConfig['backup'] {
  const keep = integer(env, 'FANZHA_BACKUP_KEEP', 7, 1, 10_000);
  const every = env.FANZHA_BACKUP_EVERY?.trim();
  if (!every) return null;
  let everyMs: number;
  try {
    everyMs = parseDuration(every);
  } catch {
    everyMs = 0;
  }
  if (everyMs < 1000)
    throw new ConfigError('FANZHA_BACKUP_EVERY', 'must be a duration like "1h" or "1d" (at least 1s)', every);
  if (!place.embedded || place.databaseUrl)
    throw new ConfigError(
      'FANZHA_BACKUP_EVERY',
      'is only for the embedded system (`npm start` without TEMPORAL_ADDRESS and DATABASE_URL): a cluster backs up its PostgreSQL and its Temporal database with their own tools (README "Backup and restore")',
      every,
    );
  if (!place.key)
    throw new ConfigError(
      'FANZHA_BACKUP_KEY',
      'is required when FANZHA_BACKUP_EVERY is set: it encrypts every backup (64 hex characters, e.g. `openssl rand -hex 32`, kept apart from the backups)',
      undefined,
    );
  const raw = env.FANZHA_BACKUP_DIR?.trim();
  if (!raw) throw new ConfigError('FANZHA_BACKUP_DIR', BACKUP_DIR_EXPECTED, raw);
  const dir = path.resolve(raw);
  // A backup inside the folder it protects is lost with it, and `npm run restore` wants that folder empty.
  const inside = path.relative(place.dataDir, dir);
  if (!inside.startsWith('..') && !path.isAbsolute(inside))
    throw new ConfigError('FANZHA_BACKUP_DIR', `${BACKUP_DIR_EXPECTED} (${place.dataDir})`, raw);
  return { everyMs, dir, keep };
}

/** A bearer token from the environment (null when unset); an error never shows it. */
function secretToken(env: Env, name: string): string | null {
  const token = env[name] || null;
  if (token !== null && !/^[A-Za-z0-9._~+/=-]{16,256}$/.test(token))
    throw new ConfigError(name, 'must be 16 to 256 characters of letters, digits or ._~+/=-', '<redacted>');
  return token;
}

function metricsConfig(env: Env): FanzhaConfig['metrics'] {
  const token = secretToken(env, 'FANZHA_METRICS_TOKEN');
  const workerAddress = env.FANZHA_WORKER_METRICS_ADDRESS || null;
  const hostPort = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(workerAddress ?? '');
  if (workerAddress !== null && (!hostPort || Number(hostPort[1]) < 1 || Number(hostPort[1]) > 65535))
    throw new ConfigError(
      'FANZHA_WORKER_METRICS_ADDRESS',
      'must be host:port, e.g. 127.0.0.1:9464 or 0.0.0.0:9464',
      workerAddress,
    );
  return { token, workerAddress };
}

function auditConfig(env: Env): FanzhaConfig['audit'] {
  const every = env.FANZHA_ARCHIVE_EVERY || '1m';
  let archiveEveryMs: number;
  try {
    archiveEveryMs = parseDuration(/^\d+$/.test(every) ? Number(every) : every);
  } catch {
    throw new ConfigError('FANZHA_ARCHIVE_EVERY', 'must be a duration like "30s", "1m" or "1h" (at least 1s)', every);
  }
  if (archiveEveryMs < 1000)
    throw new ConfigError('FANZHA_ARCHIVE_EVERY', 'must be a duration like "30s", "1m" or "1h" (at least 1s)', every);
  const key = env.FANZHA_AUDIT_KEY || null;
  if (key !== null && (key.length < 32 || key.length > 1024))
    throw new ConfigError(
      'FANZHA_AUDIT_KEY',
      'must be 32 to 1024 characters (e.g. `openssl rand -hex 32`)',
      '<redacted>',
    );
  return {
    archiveEveryMs,
    replayBundlePath: env.FANZHA_REPLAY_BUNDLE ? path.resolve(env.FANZHA_REPLAY_BUNDLE) : null,
    key,
  };
}

/** Why a process that writes or verifies the archive cannot start without FANZHA_AUDIT_KEY. */
export const NO_AUDIT_KEY =
  'FANZHA_AUDIT_KEY is required: it seals the audit archive so that whoever owns the database cannot rewrite it unnoticed (32+ random characters, e.g. `openssl rand -hex 32`, the same for every API and worker; `npm start` on its embedded database keeps one in its data folder)';

/**
 * The archive chain's HMAC key: FANZHA_AUDIT_KEY, else — only for the embedded PGlite database, which
 * lives in the same folder — `<data folder>/audit.key`, made on first use (0600). null: no key.
 */
export function archiveKey(config: FanzhaConfig): Buffer | null {
  if (config.audit.key) return Buffer.from(config.audit.key, 'utf8');
  if (config.databaseUrl) return null;
  const file = path.join(config.dataDir, 'audit.key');
  try {
    mkdirSync(config.dataDir, { recursive: true });
    // 'wx': two processes starting at once keep the first one's key.
    writeFileSync(file, randomBytes(32).toString('hex'), { flag: 'wx', mode: 0o600 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

/** A short public name of a key (HMAC of a fixed text), so that records sealed with another key say so. */
export const archiveKeyId = (key: Buffer) =>
  createHmac('sha256', key).update('fanzha audit key id').digest('hex').slice(0, 16);

/** FANZHA_WORKER_MEMORY_MB's default and floor (README "Worker memory"). */
export const WORKER_MEMORY_DEFAULT_MB = 512;
export const WORKER_MEMORY_MIN_MB = 256;
/** What one cached workflow holds in the workflow thread's heap, measured (README "Worker memory"). */
const CACHED_WORKFLOW_KB = 150;

/**
 * The V8 heap limit (old space) of each of a worker's two isolates — the main thread (activities, the
 * SDK) and the workflow thread (the cached workflows) — out of its memory: 25 % each; with a young
 * generation of 48 MB each (YOUNG_SEMI_SPACE_MB), the rest is Node, the SDK's core and the code. Left at
 * V8's defaults (old space a quarter of the machine's memory, young generation 192 MB) a worker grew
 * both heaps far past what it used before collecting them.
 */
export const workerHeapMb = (memoryMb: number) => Math.floor(memoryMb * 0.25);
/** V8's young generation is three semi-spaces: 16 MB each instead of 64. */
const YOUNG_SEMI_SPACE_MB = 16;

/** The workflow cache a worker of `memoryMb` keeps: half of its workflow thread's heap. */
export const cachedWorkflowsFor = (memoryMb: number) =>
  Math.max(2, Math.floor((workerHeapMb(memoryMb) * 1024) / 2 / CACHED_WORKFLOW_KB));

/** The node flags a worker process is started with: `npm start`, `npm run cluster`, `npm run worker`, the bench. */
export function workerNodeFlags(config: Pick<FanzhaConfig, 'workerMemoryMb'>): string[] {
  return [
    `--max-old-space-size=${workerHeapMb(config.workerMemoryMb)}`,
    `--max-semi-space-size=${YOUNG_SEMI_SPACE_MB}`,
  ];
}

export function loadConfig(env: Env = process.env): FanzhaConfig {
  const dataDir = path.resolve(env.FANZHA_DATA_DIR || './data');
  const host = env.HOST || '127.0.0.1';
  const adminToken = secretToken(env, 'FANZHA_ADMIN_TOKEN');
  const taskQueue = env.FANZHA_TASK_QUEUE || 'fanzha';
  if (!/^[A-Za-z0-9._-]{1,200}$/.test(taskQueue))
    throw new ConfigError('FANZHA_TASK_QUEUE', 'must be 1-200 letters, digits or ._-', taskQueue);
  const embedded = !env.TEMPORAL_ADDRESS && !env.TEMPORAL_PROFILE && !env.TEMPORAL_CONFIG_FILE;
  const workerMemoryMb = integer(
    env,
    'FANZHA_WORKER_MEMORY_MB',
    WORKER_MEMORY_DEFAULT_MB,
    WORKER_MEMORY_MIN_MB,
    1_000_000,
  );
  const devServerPort = integer(env, 'FANZHA_TEMPORAL_PORT', 7233, 1, 65535);
  const devServerUiPort = integer(env, 'FANZHA_TEMPORAL_UI_PORT', 8233, 1, 65535);
  const connect = embedded
    ? { connectionOptions: { address: `127.0.0.1:${devServerPort}` }, namespace: 'default' }
    : temporalConnect(env);
  const databaseUrl = url(env, 'DATABASE_URL', ['postgres:', 'postgresql:']);
  const key = backupKey(env);
  return {
    dataDir,
    host,
    port: integer(env, 'PORT', 3000, 1, 65535),
    logLevel: oneOf(env, 'FANZHA_LOG_LEVEL', LOG_LEVELS, 'info'),
    databaseUrl,
    temporal: {
      embedded,
      devServerPort,
      devServerUiPort,
      webUiUrl:
        url(env, 'FANZHA_TEMPORAL_UI_URL', ['http:', 'https:']) ??
        (embedded ? `http://127.0.0.1:${devServerUiPort}` : null),
      connect,
      namespace: connect.namespace ?? 'default',
      taskQueue,
    },
    adminToken,
    backupKey: key,
    backup: backupSchedule(env, { dataDir, embedded, databaseUrl, key }),
    policy: policy(env),
    bankGatewayUrl: url(env, 'BANK_GATEWAY_URL', ['http:', 'https:']),
    bankSimulator: !env.BANK_GATEWAY_URL && oneOf(env, 'FANZHA_BANK_SIMULATOR', ['0', '1'], '0') === '1',
    rateLimitPerMinute: integer(env, 'FANZHA_RATE_LIMIT_PER_MINUTE', 6000, 1, 10_000_000),
    authFailuresPerMinute: integer(env, 'FANZHA_AUTH_FAILURES_PER_MINUTE', 60, 1, 1_000_000),
    tokenCacheMs: integer(env, 'FANZHA_TOKEN_CACHE_SECONDS', 60, 0, 3600) * 1000,
    trustProxy: trustProxy(env),
    maxEventLoopDelayMs: integer(env, 'FANZHA_MAX_EVENT_LOOP_DELAY_MS', 1000, 0, 600_000),
    workerMemoryMb,
    workerCachedWorkflows: integer(
      env,
      'FANZHA_WORKER_CACHED_WORKFLOWS',
      cachedWorkflowsFor(workerMemoryMb),
      2,
      1_000_000,
    ),
    timeZone: timeZone(env),
    centerName: (env.FANZHA_CENTER_NAME || '市公安局反电信网络诈骗中心').trim().slice(0, 100),
    metrics: metricsConfig(env),
    notifications: notificationConfig(env),
    tracing: tracingConfig(env),
    audit: auditConfig(env),
  };
}

/**
 * FANZHA_TRUST_PROXY: off, or the proxies to believe, by address or CIDR (or loopback, linklocal,
 * uniquelocal) — never "every sender", nor a hop count (anyone could then name their own address).
 */
function trustProxy(env: Env): false | string {
  const raw = env.FANZHA_TRUST_PROXY?.trim();
  if (!raw || raw === '0' || raw === 'false') return false;
  const entry = /^(?:[0-9a-fA-F.:]+(?:\/\d{1,3})?|loopback|linklocal|uniquelocal)$/;
  if (raw.split(',').every((part) => entry.test(part.trim()))) return raw;
  throw new ConfigError(
    'FANZHA_TRUST_PROXY',
    'must be 0 or the proxies’ addresses or CIDRs (or loopback, linklocal, uniquelocal) separated by commas',
    raw,
  );
}

/** The local PostgreSQL the tools use when given no URL (tests, the bench, `npm run cluster`): trust auth, as on a developer's machine. */
export const LOCAL_POSTGRES_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Why a process that talks to banks cannot start: no gateway, and no simulator asked for. */
export const NO_BANK =
  'BANK_GATEWAY_URL is required: without it no bank learns of a stop-payment (FANZHA_BANK_SIMULATOR=1 serves the bank simulator instead, for a demo or a test; `npm start` does so by itself)';

/** Where workers send bank instructions: BANK_GATEWAY_URL, else the simulator the API serves (when asked for). */
export function bankGatewayUrl(config: FanzhaConfig): string {
  if (config.bankGatewayUrl) return config.bankGatewayUrl;
  if (!config.bankSimulator)
    throw new ConfigError('BANK_GATEWAY_URL', NO_BANK.replace(/^BANK_GATEWAY_URL /, ''), undefined);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  return `http://${host.includes(':') ? `[${host}]` : host}:${config.port}/sim/bank`;
}

/**
 * The loaded configuration, or what is wrong printed and exit 2. With `banks`, a process that talks to
 * banks (an API, a worker) also needs BANK_GATEWAY_URL, or the simulator asked for; with `auditKey`, a
 * process that writes or verifies the archive needs its key (FANZHA_AUDIT_KEY, or the embedded one).
 */
export function loadConfigOrExit(
  env: Env = process.env,
  needs: { banks?: boolean; auditKey?: boolean } = {},
): FanzhaConfig {
  try {
    const config = loadConfig(env);
    if (needs.banks && !config.bankGatewayUrl && !config.bankSimulator) {
      console.error(`Configuration error: ${NO_BANK}`);
      process.exit(2);
    }
    if (needs.auditKey && !archiveKey(config)) {
      console.error(`Configuration error: ${NO_AUDIT_KEY}`);
      process.exit(2);
    }
    return config;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`Configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
}
