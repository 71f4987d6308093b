/** `npm run worker`: one worker process. Run several against one cluster to scale out. */
import { getHeapStatistics } from 'node:v8';
import { Client } from '@temporalio/client';
import closeWithGrace from 'close-with-grace';
import { archiverScheduleId, ensureArchiverSchedule } from '#audit/archiver-schedule.js';
import { loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { startTracing } from '#services/tracing.js';
import { channelsFromConfig, createDispatcher } from './notifications/dispatcher.js';
import { connectWorkerConnection, createFanzhaWorker, installWorkerRuntime } from './worker.js';

const config = loadConfigOrExit(process.env, { banks: true, auditKey: true });
if (!config.databaseUrl) {
  console.error(
    'Configuration error: DATABASE_URL is required to run a worker on its own (the embedded PGlite serves one process: use `npm start`).',
  );
  process.exit(2);
}
const tracing = await startTracing(config.tracing, 'fanzha-worker');
const database = await prepareDatabase(config);
installWorkerRuntime(config.logLevel, config.metrics.workerAddress);
const connection = await connectWorkerConnection(config.temporal.connect.connectionOptions);
// A prebuilt bundle (FANZHA_WORKFLOW_BUNDLE, what `npm run cluster` gives every worker): the code a
// rolling upgrade moves to, the same for all, and no bundling at each start.
const bundlePath = process.env.FANZHA_WORKFLOW_BUNDLE;
const worker = await createFanzhaWorker({
  config,
  connection,
  deps: { db: database.db },
  tracing,
  ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : {}),
});
if (tracing && bundlePath)
  console.error(
    'tracing: the workflows run from FANZHA_WORKFLOW_BUNDLE, which has the tracing interceptors only if it was built with them (README "Traces")',
  );
const running = worker.run();
const dispatcher = createDispatcher({
  db: database.db,
  channelFor: channelsFromConfig(config, (line, fields) =>
    console.log(JSON.stringify({ level: 'info', msg: line, ...fields })),
  ),
  pollIntervalMs: config.notifications.pollIntervalMs,
  onError: (error) => console.error(`notification dispatch failed: ${(error as Error).message}`),
});
dispatcher.start();
// The archiver's schedule (idempotent: every worker may create it; the first one wins).
ensureArchiverSchedule(new Client({ connection, namespace: config.temporal.namespace }), {
  taskQueue: config.temporal.taskQueue,
  everyMs: config.audit.archiveEveryMs,
}).then(
  (how) =>
    console.error(
      `archiver schedule "${archiverScheduleId(config.temporal.taskQueue)}" ${how} (every ${config.audit.archiveEveryMs / 1000}s)`,
    ),
  (error) => console.error(`could not create the archiver schedule: ${(error as Error).message}`),
);
// The sizing in force (README "Worker memory"): a worker started by hand without the flag shows it here.
const heapLimitMb = Math.round(getHeapStatistics().heap_size_limit / 2 ** 20);
console.error(
  `worker polling task queue "${config.temporal.taskQueue}" in namespace "${config.temporal.namespace}" (${config.workerCachedWorkflows} cached workflows, V8 heap limit ${heapLimitMb} MB)`,
);

closeWithGrace({ delay: 30_000 }, async ({ signal, err }) => {
  if (err) console.error('worker shutting down after an error', err);
  else console.error(`worker draining (${signal ?? 'exit'})`);
  if (worker.getState() === 'RUNNING') worker.shutdown();
  await Promise.all([running.catch(() => {}), dispatcher.stop()]);
  await connection.close();
  await database.close();
  await tracing?.shutdown();
});

await running;
