/** What the audit tests share: the auditor's API calls and running the archiver. */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { expect, inject } from 'vitest';
import type { ArchiverResult } from '#workflows/archiver.js';
import { REPO_ROOT } from '../helpers/processes.js';
import type { Caller, Stack, StackOptions } from '../helpers/stack.js';

/** Audit stacks replay against the run's prebuilt bundle (FANZHA_REPLAY_BUNDLE) instead of bundling again. */
export const auditStackOptions = (options: StackOptions = {}): StackOptions => ({
  ...options,
  env: { FANZHA_REPLAY_BUNDLE: inject('workflowBundlePath'), ...options.env },
});

export interface TimelineEvent {
  eventId: number;
  runId: string;
  at: string;
  kind: string;
  actor?: { userId: string; name?: string; role: string };
  summary: string;
  detail?: Record<string, unknown>;
}

export function auditApi(stack: Stack) {
  const get = (caller: Caller | null, url: string) => stack.request(caller, { method: 'GET', url });
  return {
    timeline: (caller: Caller | null, workflowId: string) => get(caller, `/v1/audit/workflows/${workflowId}/timeline`),
    history: (caller: Caller | null, workflowId: string, runId?: string) =>
      get(caller, `/v1/audit/workflows/${workflowId}/history${runId ? `?runId=${runId}` : ''}`),
    replay: (caller: Caller | null, workflowId: string, body: unknown = {}) =>
      stack.request(caller, {
        method: 'POST',
        url: `/v1/audit/workflows/${workflowId}/replay`,
        payload: body as object,
      }),
    archive: (caller: Caller | null, query = '') => get(caller, `/v1/audit/archive${query}`),
    verify: (caller: Caller | null) => get(caller, '/v1/audit/archive/verify'),
    accessLog: (caller: Caller | null, query = '') => get(caller, `/v1/audit/access-log${query}`),
  };
}

/** Runs one ArchiverWorkflow on the stack's task queue to completion. */
export function runArchiver(stack: Stack, options: { batchSize?: number } = {}): Promise<ArchiverResult> {
  const taskQueue = stack.config.temporal.taskQueue;
  return stack.client.workflow.execute('ArchiverWorkflow', {
    taskQueue,
    workflowId: `archiver-test-${randomBytes(4).toString('hex')}`,
    args: [{ taskQueue, ...options }],
  });
}

/** The JSON of a 200 answer (failing with the body otherwise). */
export const ok = <T = any>(response: { statusCode: number; body: string; json(): unknown }): T => {
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as T;
};

/** The decisions in a timeline: [update name, actor name, role]. */
export const decisions = (events: TimelineEvent[]) =>
  events.filter((e) => e.kind === 'update_accepted').map((e) => [e.detail?.update, e.actor?.name, e.actor?.role]);

/**
 * A copy of workflows/ (with the domain/ it imports) in which AlertWorkflow first runs an extra
 * activity — a change made without `patched()` — bundled. Returns the bundle file.
 */
export async function changedWorkflowBundle(): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-changed-workflows-'));
  for (const folder of ['workflows', 'domain'])
    cpSync(path.join(REPO_ROOT, folder), path.join(dir, folder), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  const file = path.join(dir, 'workflows', 'alert.ts');
  const anchor = 'export async function AlertWorkflow(input: AlertWorkflowInput): Promise<AlertResult> {\n';
  const source = readFileSync(file, 'utf8');
  if (!source.includes(anchor))
    throw new Error(`workflows/alert.ts no longer has "${anchor.trim()}": update the changed-code test`);
  writeFileSync(
    file,
    source.replace(
      anchor,
      `${anchor}  await proxyActivities<{ auditChangedStep(): Promise<void> }>({ startToCloseTimeout: '1m' }).auditChangedStep();\n`,
    ),
  );
  const bundle = await bundleWorkflowCode({
    workflowsPath: path.join(dir, 'workflows', 'index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const bundlePath = path.join(dir, 'changed-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  return bundlePath;
}

/** Runs `npm run audit -- <args>` (as node --import tsx scripts/audit.ts) and collects what it printed. */
export function runAuditCli(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/audit.ts', ...args], {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? os.tmpdir(),
        TMPDIR: os.tmpdir(),
        FANZHA_LOG_LEVEL: 'silent',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
