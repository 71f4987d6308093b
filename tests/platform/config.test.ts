import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { bankGatewayUrl, ConfigError, loadConfig, workerNodeFlags } from '#config/index.js';
import { parseDuration } from '#domain/duration.js';
import { PolicyError, resolvePolicy } from '#domain/policy.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'fanzha-config-'));
const policyFile = (content: string) => {
  const file = path.join(tmp, `${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, content);
  return file;
};

describe('durations', () => {
  it.each([
    ['90s', 90_000],
    ['5m', 300_000],
    ['48h', 172_800_000],
    ['180d', 15_552_000_000],
    ['250ms', 250],
    [1500, 1500],
  ])('parses %j as %d ms', (input, ms) => expect(parseDuration(input)).toBe(ms));

  it.each([['5 minutes'], ['-5m'], ['0s'], [''], [0], [-1], [1.5], [null], ['5w']])('refuses %j', (input) =>
    expect(() => parseDuration(input)).toThrow(/duration|milliseconds/),
  );
});

describe('policy', () => {
  it('has the defaults of DESIGN.md §7', () => {
    const policy = resolvePolicy();
    expect(policy.alert.claimSla).toEqual({ high: 120_000, medium: 300_000, low: 900_000 });
    expect(policy.alert.visitOnUnreachable).toEqual({ high: true, medium: true, low: false });
    expect(policy.stopPayment.stopValidity).toBe(48 * 3_600_000);
    expect(policy.stopPayment.majorCaseThresholdFen).toBe(50_000_000);
  });

  it('overrides any subset and keeps the rest', () => {
    const policy = resolvePolicy({
      alert: { claimSla: { high: '2s' }, maxCallAttempts: 1 },
      stopPayment: { freezeValidity: 5000 },
    });
    expect(policy.alert.claimSla).toEqual({ high: 2000, medium: 300_000, low: 900_000 });
    expect(policy.alert.maxCallAttempts).toBe(1);
    expect(policy.stopPayment.freezeValidity).toBe(5000);
    expect(policy.stopPayment.approvalSla).toBe(300_000);
  });

  it('names every bad setting, including unknown ones', () => {
    try {
      resolvePolicy({
        alert: { claimSla: { high: 'soon' }, maxCallAtempts: 2, visitOnUnreachable: { low: 'no' } },
        nonsense: {},
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      const problems = (error as PolicyError).problems.join('\n');
      expect(problems).toContain('/alert/claimSla/high');
      expect(problems).toContain('/alert/maxCallAtempts is not a policy setting');
      expect(problems).toContain('/alert/visitOnUnreachable/low');
      expect(problems).toContain('/nonsense is not a policy setting');
    }
  });
});

describe('configuration', () => {
  it('has embedded defaults', () => {
    const config = loadConfig({});
    expect(config.port).toBe(3000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.databaseUrl).toBeNull();
    expect(config.temporal.embedded).toBe(true);
    expect(config.temporal.taskQueue).toBe('fanzha');
    expect(config.dataDir).toBe(path.resolve('data'));
  });

  it('follows Temporal environment configuration in production mode', () => {
    const config = loadConfig({
      TEMPORAL_ADDRESS: 'temporal.internal:7233',
      TEMPORAL_NAMESPACE: 'antifraud',
      DATABASE_URL: 'postgres://u:p@db/fanzha',
    });
    expect(config.temporal.embedded).toBe(false);
    expect(config.temporal.connect.connectionOptions.address).toBe('temporal.internal:7233');
    expect(config.temporal.namespace).toBe('antifraud');
    expect(config.databaseUrl).toBe('postgres://u:p@db/fanzha');
  });

  it.each([
    [{ PORT: 'abc' }, /^PORT must be a whole number from 1 to 65535/],
    [{ PORT: '70000' }, /^PORT/],
    [{ DATABASE_URL: 'mysql://root@db/x' }, /^DATABASE_URL must be a URL starting with postgres:/],
    [{ BANK_GATEWAY_URL: 'not a url' }, /^BANK_GATEWAY_URL/],
    [{ FANZHA_LOG_LEVEL: 'loud' }, /^FANZHA_LOG_LEVEL must be one of/],
    [{ FANZHA_ADMIN_TOKEN: 'short' }, /^FANZHA_ADMIN_TOKEN must be 16/],
    [{ FANZHA_POLICY_FILE: '/nonexistent/policy.json' }, /^FANZHA_POLICY_FILE must name a readable JSON file/],
    [
      { FANZHA_POLICY_FILE: policyFile('{"alert": {"callTimeout": "soon"}}') },
      /^FANZHA_POLICY_FILE must hold a valid policy: \/alert\/callTimeout/,
    ],
    [{ FANZHA_POLICY_FILE: policyFile('{not json') }, /^FANZHA_POLICY_FILE must name a readable JSON file/],
    [{ FANZHA_METRICS_TOKEN: 'short' }, /^FANZHA_METRICS_TOKEN must be 16/],
    [{ FANZHA_WORKER_METRICS_ADDRESS: '9464' }, /^FANZHA_WORKER_METRICS_ADDRESS must be host:port/],
    [{ FANZHA_WORKER_METRICS_ADDRESS: '0.0.0.0:99999' }, /^FANZHA_WORKER_METRICS_ADDRESS must be host:port/],
  ])('refuses %j with a message naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('serves no metrics unless asked for: /metrics needs its token, a worker its address', () => {
    expect(loadConfig({}).metrics).toEqual({ token: null, workerAddress: null });
    expect(
      loadConfig({ FANZHA_METRICS_TOKEN: 'scrape-me-0123456789', FANZHA_WORKER_METRICS_ADDRESS: '[::]:9464' }).metrics,
    ).toEqual({ token: 'scrape-me-0123456789', workerAddress: '[::]:9464' });
  });

  it('caches verified tokens for 60 s unless told otherwise (0: never)', () => {
    expect(loadConfig({}).tokenCacheMs).toBe(60_000);
    expect(loadConfig({ FANZHA_TOKEN_CACHE_SECONDS: '0' }).tokenCacheMs).toBe(0);
  });

  it('sizes a worker from FANZHA_WORKER_MEMORY_MB: a heap limit for each of its two isolates, and its workflow cache', () => {
    const sized = (env: Record<string, string>) => {
      const config = loadConfig(env);
      const flags = workerNodeFlags(config).join(' ');
      const heapMb = Number(/--max-old-space-size=(\d+)/.exec(flags)![1]);
      expect(flags).toContain('--max-semi-space-size=16');
      return { memoryMb: config.workerMemoryMb, heapMb, cached: config.workerCachedWorkflows };
    };
    const standard = sized({});
    expect(standard.memoryMb).toBe(512);
    // Two heaps at their limit (old space and a 48 MB young generation each) leave room for Node and the SDK's core.
    expect(2 * (standard.heapMb + 48)).toBeLessThanOrEqual(0.7 * standard.memoryMb);
    // The cache fills half the workflow thread's heap at 150 KB a workflow (README "Worker memory").
    expect(standard.cached * 150).toBeLessThanOrEqual((standard.heapMb * 1024) / 2);
    expect(standard.cached).toBeGreaterThan(((standard.heapMb * 1024) / 2 - 150) / 150);
    const large = sized({ FANZHA_WORKER_MEMORY_MB: '2048' });
    expect(large.heapMb).toBe(4 * standard.heapMb);
    expect(large.cached).toBeGreaterThan(3.9 * standard.cached);
    // An explicit cache wins over the derived one.
    expect(sized({ FANZHA_WORKER_MEMORY_MB: '2048', FANZHA_WORKER_CACHED_WORKFLOWS: '40' }).cached).toBe(40);
    expect(() => loadConfig({ FANZHA_WORKER_MEMORY_MB: '100' })).toThrow(
      /^FANZHA_WORKER_MEMORY_MB must be a whole number from 256/,
    );
  });

  it('`npm run worker` starts the worker with those flags; a bad size stops it with exit code 2 naming the setting', () => {
    const flags = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/worker-node-flags.ts'], {
      env: { ...process.env, FANZHA_WORKER_MEMORY_MB: '1024' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(flags.stdout.trim()).toBe(workerNodeFlags({ workerMemoryMb: 1024 }).join(' '));
    const bad = spawnSync('npm', ['run', '--silent', 'worker'], {
      env: { ...process.env, FANZHA_WORKER_MEMORY_MB: '100', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('FANZHA_WORKER_MEMORY_MB must be a whole number from 256');
  });

  it('accepts the policy file the demo ships', () => {
    const config = loadConfig({ FANZHA_POLICY_FILE: 'scripts/demo-policy.json' });
    expect(config.policy.alert.claimSla.high).toBe(1_000);
    expect(config.policy.alert.callTimeout).toBe(1_500);
    expect(config.policy.stopPayment.maxRestops).toBe(2);
  });

  it('takes a whsec_ webhook secret only as base64 of 24 to 64 bytes, and never echoes it', () => {
    const hook = { FANZHA_WEBHOOK_URL_SUPERVISOR: 'http://127.0.0.1:9/hook' };
    const whsec = (bytes: number) => `whsec_${Buffer.alloc(bytes, 7).toString('base64')}`;
    expect(loadConfig({ ...hook, FANZHA_WEBHOOK_SECRET: whsec(32) }).notifications.webhookSecret).toBe(whsec(32));
    expect(loadConfig({ ...hook, FANZHA_WEBHOOK_SECRET: 'a-plain-secret-of-16+' }).notifications.webhookSecret).toBe(
      'a-plain-secret-of-16+',
    );
    for (const bad of [whsec(16), whsec(65), 'whsec_not*base64-at-all!!!!!!!!!!!!!!'])
      expect(() => loadConfig({ ...hook, FANZHA_WEBHOOK_SECRET: bad })).toThrow(
        expect.objectContaining({ message: expect.not.stringContaining(bad.slice(6)) }),
      );
    expect(() => loadConfig({ ...hook, FANZHA_WEBHOOK_SECRET: whsec(16) })).toThrow(/FANZHA_WEBHOOK_SECRET.*whsec_/);
  });

  it('traces only when the standard OTEL_* variables ask for it', () => {
    expect(loadConfig({}).tracing).toEqual({ enabled: false, serviceName: null });
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' };
    expect(loadConfig(endpoint).tracing.enabled).toBe(true);
    expect(loadConfig({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c/v1/traces' }).tracing.enabled).toBe(true);
    expect(loadConfig({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SERVICE_NAME: 'fz' }).tracing).toEqual({
      enabled: true,
      serviceName: 'fz',
    });
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing.enabled).toBe(false);
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing.enabled).toBe(false);
    expect(() => loadConfig({ OTEL_TRACES_EXPORTER: 'zipkin' })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => loadConfig({ ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/http\/protobuf/);
    expect(() => loadConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' })).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });

  it('never echoes a database password in an error', () => {
    expect(() => loadConfig({ DATABASE_URL: 'mysql://admin:s3cret@db/x' })).toThrow(/admin:\*\*\*@/);
    expect(() => loadConfig({ DATABASE_URL: 'mysql://admin:s3cret@db/x' })).not.toThrow(/s3cret/);
  });

  it('serves the bank simulator only when asked for, and never beside a gateway', () => {
    expect(loadConfig({}).bankSimulator).toBe(false);
    expect(loadConfig({ FANZHA_BANK_SIMULATOR: '1' }).bankSimulator).toBe(true);
    expect(loadConfig({ FANZHA_BANK_SIMULATOR: '1', BANK_GATEWAY_URL: 'https://gw.test' }).bankSimulator).toBe(false);
    expect(() => loadConfig({ FANZHA_BANK_SIMULATOR: 'yes' })).toThrow(/^FANZHA_BANK_SIMULATOR must be one of 0, 1/);
    expect(() => bankGatewayUrl(loadConfig({}))).toThrow(/^BANK_GATEWAY_URL is required/);
    expect(bankGatewayUrl(loadConfig({ FANZHA_BANK_SIMULATOR: '1', PORT: '3100' }))).toBe(
      'http://127.0.0.1:3100/sim/bank',
    );
  });

  it('stops an API or a worker without a bank gateway at start, with exit code 2 naming BANK_GATEWAY_URL', () => {
    for (const entry of ['api/server.ts', 'worker/main.ts']) {
      const env: NodeJS.ProcessEnv = {
        ...process.env,
        DATABASE_URL: 'postgres://127.0.0.1:1/none',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
      };
      delete env.BANK_GATEWAY_URL;
      delete env.FANZHA_BANK_SIMULATOR;
      const result = spawnSync(process.execPath, ['--import', 'tsx', entry], {
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, entry).toBe(2);
      expect(result.stderr, entry).toContain('Configuration error: BANK_GATEWAY_URL is required');
    }
  });

  it('stops a process at start with exit code 2 and the reason', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'api/server.ts'], {
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: 'postgres://127.0.0.1:1/none' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('PORT must be a whole number');
  });
});
