/**
 * One decision, one trace: the claim's HTTP request, its Update through the Temporal client, the
 * workflow's handling of it and the projection activity that writes its steps share a trace ID and
 * a parent chain — continuing the caller's own trace (traceparent). Spans go to an in-memory exporter.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { alertWorkflowId } from '#domain/alert.js';
import { bundleForWorkers } from '#scripts/cluster/cluster.js';
import { startTracing, type Tracing } from '#services/tracing.js';
import { TRACING_WORKFLOW_INTERCEPTORS, workerTracingOptions } from '#worker/tracing.js';
import { bundleWorkflowsApart, WORKFLOWS_PATH } from '#worker/worker.js';
import { alertApi, newAlert, readModelRow, waitFor } from '../helpers/alerts.js';
import { loadGoldens } from '../helpers/goldens.js';
import { startStack, type Stack } from '../helpers/stack.js';

const exporter = new InMemorySpanExporter();
let tracing: Tracing;
let stack: Stack;
let tracedBundlePath: string;

beforeAll(async () => {
  tracing = (await startTracing({ enabled: true, serviceName: null }, 'fanzha-test', exporter))!;
  // The run's prebuilt bundle has no tracing interceptors (tracing is off by default): the one a tracing
  // worker makes for itself.
  const { code } = await bundleWorkflowsApart({ interceptorModules: [TRACING_WORKFLOW_INTERCEPTORS] });
  tracedBundlePath = path.join(mkdtempSync(path.join(os.tmpdir(), 'fanzha-traced-')), 'bundle.js');
  writeFileSync(tracedBundlePath, code);
  stack = await startStack({ env: { OTEL_TRACES_EXPORTER: 'otlp' }, tracing, workflowBundlePath: tracedBundlePath });
}, 180_000);
afterAll(async () => {
  await stack?.close();
  await tracing?.shutdown();
});

const hex = (n: number) => Array.from({ length: n }, () => Math.floor(Math.random() * 16).toString(16)).join('');
const id = (span: ReadableSpan) => span.spanContext().spanId;

describe('tracing', () => {
  it('follows a claim from its HTTP request through the Update and the workflow to its projection activity', async () => {
    const [platform, operator] = [await stack.user(['platform']), await stack.user(['operator'])];
    const api = alertApi(stack);
    const alert = newAlert();
    expect((await api.ingest(platform, alert)).statusCode).toBe(201);
    await readModelRow(stack, alert.alertId, (row) => row.state === 'queued');

    // The caller's own trace: the claim continues it.
    const traceId = hex(32);
    const callerSpanId = hex(16);
    const claim = await api.claim(operator, alert.alertId, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(claim.statusCode).toBe(200);

    const spans = () => exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId);
    /** From the projection activity up, as far as finished spans of this trace go. */
    const chainUp = () => {
      const byId = new Map(spans().map((s) => [id(s), s]));
      const chain: ReadableSpan[] = [];
      let span = spans().find((s) => s.name === 'RunActivity:recordAlertEvents');
      for (; span; span = byId.get(span.parentSpanId!)) chain.push(span);
      return chain;
    };
    // Workflow spans leave the sandbox as their activation ends: wait until the chain reaches the caller.
    const chain = await waitFor('a chain from the projection to the caller', async () => {
      const found = chainUp();
      return found.at(-1)?.parentSpanId === callerSpanId && found;
    }).catch((error) => {
      throw new Error(`${error.message}; got ${chainUp().map((s) => s.name)} of ${spans().map((s) => s.name)}`);
    });
    expect(chain.map((s) => s.name)).toEqual([
      'RunActivity:recordAlertEvents',
      'StartActivity:recordAlertEvents',
      'HandleUpdate:claim',
      'StartWorkflowUpdate:claim',
      expect.stringMatching(/^handler - /),
      'request',
    ]);
    // ...the projection the claim caused: the read model shows the alert claimed.
    expect((await readModelRow(stack, alert.alertId, (row) => row.state !== 'queued')).assigneeId).toBe(
      operator.user.userId,
    );
    const request = spans().find((s) => s.name === 'request');
    expect(request?.attributes['http.route']).toBe('/v1/alerts/:alertId/claim');
    // Every span, the workflow's (made in the sandbox) as well, names the service that made it.
    expect(new Set(spans().map((s) => s.resource.attributes['service.name']))).toEqual(new Set(['fanzha-test']));
    // The history made with tracing on replays on a worker without it (tracing can be turned off).
    const history = await stack.client.workflow.getHandle(alertWorkflowId(alert.alertId)).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: { codePath: inject('workflowBundlePath') } }, history);
    // The ingest was another request: its workflow start is in another trace, not in the claim's.
    expect(spans().filter((s) => s.name.startsWith('StartWorkflow:'))).toEqual([]);
  });

  it('gives a cluster’s workers the tracing interceptors in their bundle when they trace, and not otherwise', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-cluster-bundle-'));
    const traced = readFileSync(
      await bundleForWorkers(dir, WORKFLOWS_PATH, 1, { OTEL_TRACES_EXPORTER: 'otlp' }),
      'utf8',
    );
    const plain = readFileSync(await bundleForWorkers(dir, WORKFLOWS_PATH, 2, {}), 'utf8');
    // The workflow side's tracer (workflows/tracing.ts) is in the one bundle and not in the other.
    expect(traced).toContain('fanzha-workflow');
    expect(plain).not.toContain('fanzha-workflow');
  });

  it('leaves the golden histories replaying with the tracing interceptors in the bundle', async () => {
    const goldens = loadGoldens();
    const results: [string, string | null][] = [];
    for await (const result of Worker.runReplayHistories(
      {
        workflowBundle: { codePath: tracedBundlePath },
        replayName: 'golden-traced',
        sinks: workerTracingOptions(tracing).sinks,
      },
      goldens.map((g) => ({ workflowId: g.file, history: historyFromJSON(g.json) })),
    ))
      results.push([result.workflowId, result.error ? result.error.message : null]);
    expect(results).toEqual(goldens.map((g) => [g.file, null]));
  });
});
