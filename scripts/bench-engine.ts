/**
 * The engine's cost per case, for `npm run bench`: what one alert costs Temporal on the happy path
 * (claim, dissuaded) and on the visit path (claim, refused, the station visits), read from the closed
 * histories — workflow tasks, activities, history events and bytes. Counts, not timings: the same on
 * any machine, so a change in the workflows' shape shows as a change here.
 */
import { fileURLToPath } from 'node:url';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { bundleWorkflowCode, Worker, type InjectedSinks, type NativeConnection } from '@temporalio/worker';
import { answer, type FanzhaClient } from './api-client/index.js';
import type { BenchSinks } from './bench/minimal-workflow.js';

const { EventType } = proto.temporal.api.enums.v1;
type History = proto.temporal.api.history.v1.IHistory;

export interface EngineCost {
  workflowTasks: number;
  activities: number;
  events: number;
  historyBytes: number;
}

export function engineCostOf(history: History): EngineCost {
  const events = history.events ?? [];
  const count = (type: number) => events.filter((e) => e.eventType === type).length;
  return {
    workflowTasks: count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
    activities: count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
    events: events.length,
    historyBytes: proto.temporal.api.history.v1.History.encode(history).finish().length,
  };
}

/** `operator` and `station` decide through the API as those roles; `push(alertId)` ingests one alert. */
export async function engineCostPerCase(options: {
  client: Client;
  push: (alertId: string) => Promise<void>;
  asOperator: FanzhaClient;
  asStation: FanzhaClient;
  idPrefix: string;
}): Promise<{ happy: EngineCost; visit: EngineCost }> {
  const { client, push, asOperator, asStation, idPrefix } = options;
  const closedHistory = async (alertId: string) => {
    const handle = client.workflow.getHandle(`alert-${alertId}`);
    await handle.result();
    return handle.fetchHistory();
  };
  const happyId = `${idPrefix}-happy`;
  const happy = { params: { path: { alertId: happyId } } };
  await push(happyId);
  await answer(asOperator.POST('/v1/alerts/{alertId}/claim', { ...happy, body: {} }));
  await answer(
    asOperator.POST('/v1/alerts/{alertId}/call-result', {
      ...happy,
      body: { result: 'contacted', outcome: 'dissuaded' },
    }),
  );
  const visitId = `${idPrefix}-visit`;
  const visit = { params: { path: { alertId: visitId } } };
  await push(visitId);
  await answer(asOperator.POST('/v1/alerts/{alertId}/claim', { ...visit, body: {} }));
  await answer(
    asOperator.POST('/v1/alerts/{alertId}/call-result', {
      ...visit,
      body: { result: 'contacted', outcome: 'refused' },
    }),
  );
  await answer(asStation.POST('/v1/alerts/{alertId}/visit-result', { ...visit, body: { outcome: 'dissuaded' } }));
  return {
    happy: engineCostOf(await closedHistory(happyId)),
    visit: engineCostOf(await closedHistory(visitId)),
  };
}

/**
 * The engine's own limit on this server and machine, measured in the same run as the alerts: `count`
 * minimal workflows (start, one task, one timer) started at `concurrency`, on a worker of their own in
 * this process. Accepted: starts answered per second; through the first task: started and run to their
 * timer per second, the counterpart of an alert reaching the queue.
 */
export async function engineLimit(options: {
  client: Client;
  connection: NativeConnection;
  count: number;
  concurrency: number;
  idPrefix: string;
  pool: (count: number, concurrency: number, task: (i: number) => Promise<void>) => Promise<{ wallMs: number }>;
}): Promise<{ count: number; acceptedPerSecond: number; firstTaskPerSecond: number }> {
  const { client, connection, count, concurrency, idPrefix, pool } = options;
  const taskQueue = `${idPrefix}-minimal`;
  let firstTasks = 0;
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./bench/minimal-workflow.ts', import.meta.url)),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const sinks: InjectedSinks<BenchSinks> = { bench: { firstTask: { fn: () => void firstTasks++ } } };
  const worker = await Worker.create({
    connection,
    taskQueue,
    workflowBundle: { code },
    sinks,
  });
  const running = worker.run();
  try {
    const started = performance.now();
    const accepted = await pool(count, concurrency, async (i) => {
      await client.workflow.start('MinimalWorkflow', { taskQueue, workflowId: `${idPrefix}-${i}` });
    });
    while (firstTasks < count) await new Promise((r) => setTimeout(r, 20));
    const throughFirstTask = performance.now() - started;
    return {
      count,
      acceptedPerSecond: Math.round((count / accepted.wallMs) * 10_000) / 10,
      firstTaskPerSecond: Math.round((count / throughFirstTask) * 10_000) / 10,
    };
  } finally {
    worker.shutdown();
    await running;
  }
}
