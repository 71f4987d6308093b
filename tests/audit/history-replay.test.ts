/**
 * The raw history (the `temporal workflow show --output json` form) and replay: a history replays
 * against the code the worker runs; against a deliberately changed copy of the workflow code it does
 * not, through the API and through `npm run audit`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from '@temporalio/worker';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { buildApp } from '#api/app.js';
import { alertApi, newAlert } from '../helpers/alerts.js';
import { startStack, type Caller, type Stack } from '../helpers/stack.js';
import { caseWhen, newFiling, stopPaymentApi } from '../helpers/stop-payments.js';
import { auditApi, auditStackOptions, changedWorkflowBundle, ok, runArchiver, runAuditCli } from './helpers.js';

let stack: Stack;
let audit: ReturnType<typeof auditApi>;
let auditor: Caller;
let alertWorkflowId: string;
let caseWorkflowId: string;
let hold: { workflowId: string; runs: string[] };
let changedBundle: Promise<string>;

beforeAll(async () => {
  changedBundle = changedWorkflowBundle();
  changedBundle.catch(() => {});
  stack = await startStack(
    auditStackOptions({ policy: { stopPayment: { stopValidity: '10m', freezeValidity: '10m' } } }),
  );
  audit = auditApi(stack);
  const alerts = alertApi(stack);
  const cases = stopPaymentApi(stack);
  const [platform, operator, calltaker, approver, senior] = await Promise.all([
    stack.user(['platform']),
    stack.user(['operator'], { name: '王接线员' }),
    stack.user(['calltaker']),
    stack.user(['approver']),
    stack.user(['senior_approver']),
  ]);
  auditor = await stack.user(['auditor']);

  const alert = newAlert();
  await alerts.ingest(platform, alert);
  await alerts.claim(operator, alert.alertId);
  await alerts.callResult(operator, alert.alertId, { result: 'contacted', outcome: 'refused' });
  await alerts.cancel(platform, alert.alertId, { reason: '平台撤回' });
  alertWorkflowId = `alert-${alert.alertId}`;

  const id = (await cases.file(calltaker, newFiling([{ amountFen: 900_000 }]))).json().stopPaymentId as string;
  await cases.approve(approver, id, { note: '同意' });
  const { holds } = await caseWhen(stack, id, (v) => v.holds[0]?.state === 'stopped', 'the hold stopped');
  await cases.freeze(senior, id, holds[0]!.holdId, { legalDocRef: '冻字〔2026〕1号' });
  await cases.renew(senior, id, holds[0]!.holdId, { legalDocRef: '续冻字〔2026〕2号' });
  await caseWhen(stack, id, (v) => v.holds[0]!.renewals === 1, 'the renewal');
  await cases.release(senior, id, { reason: '解除' });
  caseWorkflowId = `stoppay-${id}`;
  await Promise.all([alertWorkflowId, caseWorkflowId].map((w) => stack.client.workflow.getHandle(w).result()));
  const runs: { runId: string; start: number }[] = [];
  for await (const run of stack.client.workflow.list({ query: `WorkflowId = '${holds[0]!.workflowId}'` }))
    runs.push({ runId: run.runId, start: run.startTime.getTime() });
  hold = { workflowId: holds[0]!.workflowId, runs: runs.sort((a, b) => a.start - b.start).map((r) => r.runId) };
  expect(hold.runs).toHaveLength(2);
});
afterAll(async () => {
  await stack?.close();
});

describe('raw history', () => {
  it('is the JSON `temporal workflow show --output json` prints, and replays with Worker.runReplayHistory', async () => {
    for (const workflowId of [alertWorkflowId, caseWorkflowId]) {
      const response = await audit.history(auditor, workflowId);
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toMatch(/^application\/json/);
      const { runId } = await stack.client.workflow.getHandle(workflowId).describe();
      expect(response.headers['x-workflow-run-id']).toBe(runId);
      expect(response.headers['x-history-source']).toBe('temporal');
      const json = response.json() as { events: { eventId: string; eventType: string }[] };
      expect(json.events[0]!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_STARTED');
      expect(json.events.at(-1)!.eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');

      const { stdout } = await promisify(execFile)(
        inject('temporalCliPath'),
        [
          'workflow',
          'show',
          '--workflow-id',
          workflowId,
          '--output',
          'json',
          '--address',
          inject('temporalAddress'),
          '--namespace',
          'default',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      );
      const cli = JSON.parse(stdout) as { events: { eventId: string; eventType: string }[] };
      // The same events, field for field, once both are read as a History.
      expect(historyFromJSON(json)).toEqual(historyFromJSON(cli));

      await Worker.runReplayHistory(
        { workflowBundle: { codePath: inject('workflowBundlePath') } },
        historyFromJSON(json),
        workflowId,
      );
    }
  });

  it('gives any run of a continue-as-new chain by runId', async () => {
    const [first, second] = hold.runs as [string, string];
    const firstRun = await audit.history(auditor, hold.workflowId, first);
    expect(firstRun.headers['x-workflow-run-id']).toBe(first);
    expect(firstRun.json().events.at(-1).eventType).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    const newest = await audit.history(auditor, hold.workflowId);
    expect(newest.headers['x-workflow-run-id']).toBe(second);
    expect(newest.json().events[0].workflowExecutionStartedEventAttributes.continuedExecutionRunId).toBe(first);
    expect((await audit.history(auditor, hold.workflowId, '00000000-0000-0000-0000-000000000000')).statusCode).toBe(
      404,
    );
  });
});

describe('replay', () => {
  it('proves the current code reproduces each recorded history', async () => {
    for (const workflowId of [alertWorkflowId, caseWorkflowId]) {
      const events = (await audit.history(auditor, workflowId)).json().events.length;
      const { runId, type } = await stack.client.workflow.getHandle(workflowId).describe();
      expect(ok(await audit.replay(auditor, workflowId))).toEqual({
        workflowId,
        runId,
        workflowType: type,
        source: 'temporal',
        events,
        deterministic: true,
      });
    }
    for (const runId of hold.runs)
      expect(ok(await audit.replay(auditor, hold.workflowId, { runId }))).toMatchObject({
        runId,
        workflowType: 'HoldWorkflow',
        deterministic: true,
      });
  });

  it('answers deterministic: false, with the reason, against a changed copy of the workflow code', async () => {
    const changed: FastifyInstance = await buildApp({
      config: { ...stack.config, audit: { ...stack.config.audit, replayBundlePath: await changedBundle } },
      database: stack.database,
      temporal: stack.client,
      logger: false,
    });
    try {
      const replay = (workflowId: string) =>
        changed.inject({
          method: 'POST',
          url: `/v1/audit/workflows/${workflowId}/replay`,
          headers: { authorization: `Bearer ${auditor.token}` },
          payload: {},
        });
      const alert = ok<{ deterministic: boolean; error?: string; events: number }>(await replay(alertWorkflowId));
      expect(alert).toMatchObject({ workflowId: alertWorkflowId, workflowType: 'AlertWorkflow', deterministic: false });
      expect(alert.error).toMatch(/nondeterminism/i);
      expect(alert.events).toBeGreaterThan(10);
      // Only AlertWorkflow changed: a stop-payment still replays.
      expect(ok(await replay(caseWorkflowId))).toMatchObject({ deterministic: true });
    } finally {
      await changed.close();
    }
  });

  it('runs offline: `npm run audit -- replay` and `replay-archive` exit non-zero on a mismatch', async () => {
    const env = {
      DATABASE_URL: stack.databaseUrl,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_NAMESPACE: 'default',
    };
    // No bundle given: the CLI bundles workflows/ as it is now.
    const current = await runAuditCli(['replay', hold.workflowId], env);
    expect(current.code, current.stderr).toBe(0);
    expect(
      current.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(/\s+/).slice(0, 4)),
    ).toEqual(hold.runs.map((r) => ['ok', 'HoldWorkflow', hold.workflowId, r]));

    const mismatch = await runAuditCli(['replay', alertWorkflowId, '--bundle', await changedBundle], env);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stdout).toMatch(new RegExp(`^MISMATCH  AlertWorkflow ${alertWorkflowId} .*nondeterminism`, 'im'));

    const unknown = await runAuditCli(['replay', 'alert-nowhere'], env);
    expect(unknown.code).toBe(2);

    await runArchiver(stack);
    const archived = await runAuditCli(['replay-archive'], {
      ...env,
      FANZHA_REPLAY_BUNDLE: inject('workflowBundlePath'),
    });
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout).toContain(`ok        AlertWorkflow ${alertWorkflowId}`);
    expect(archived.stdout).toContain(`ok        HoldWorkflow ${hold.workflowId} ${hold.runs[0]}`);
    expect(archived.stdout).not.toContain('MISMATCH');

    const changedAlerts = await runAuditCli(['replay-archive', '--type', 'AlertWorkflow'], {
      ...env,
      FANZHA_REPLAY_BUNDLE: await changedBundle,
    });
    expect(changedAlerts.code).toBe(1);
    expect(changedAlerts.stdout).toContain(`MISMATCH  AlertWorkflow ${alertWorkflowId}`);
    expect(changedAlerts.stdout).not.toContain('StopPaymentWorkflow');
    expect(changedAlerts.stderr).toContain('1 mismatch');
  }, 240_000);
});
