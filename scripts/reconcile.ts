/**
 * `npm run reconcile [-- --repair] [-- --json]`: compares the read model (alerts, stop_payments,
 * holds, case_events) with the workflows in Temporal and, with --repair, rewrites what differs from
 * the workflows' own state. Reads the same configuration as the API and worker (DATABASE_URL,
 * TEMPORAL_*, FANZHA_TASK_QUEUE). A worker must be running to answer the state queries of open
 * workflows. Exit code: 0 when nothing differs (or everything found was repaired), 1 otherwise,
 * 2 for a configuration error.
 */
import { parseArgs } from 'node:util';
import { loadConfigOrExit } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { createTemporalClient } from '#services/temporal-client.js';
import { formatReport, reconcile } from '#read-model/reconcile.js';

const { values } = parseArgs({
  options: {
    repair: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    'all-task-queues': { type: 'boolean', default: false },
    'settle-ms': { type: 'string', default: '2000' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`npm run reconcile -- [--repair] [--json] [--all-task-queues] [--settle-ms 2000]

Compares the read model with every AlertWorkflow, StopPaymentWorkflow and HoldWorkflow on the
configured task queue (FANZHA_TASK_QUEUE) and every row of the read model; prints each difference.
  --repair           rewrite differing rows and event rows from the workflows' state
  --json             print the report as JSON
  --all-task-queues  list workflows on every task queue of the namespace
  --settle-ms N      re-check differences of running workflows after N ms (projections in flight)`);
  process.exit(0);
}
const settleMs = Number(values['settle-ms']);
if (!Number.isInteger(settleMs) || settleMs < 0) {
  console.error('--settle-ms must be a whole number of milliseconds');
  process.exit(2);
}

const config = loadConfigOrExit();
if (!config.databaseUrl) {
  console.error(
    'Configuration error: DATABASE_URL is required (the embedded PGlite belongs to the running `npm start` process).',
  );
  process.exit(2);
}
const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir, poolSize: 4 });
const client = createTemporalClient(config);
let exitCode = 1;
try {
  const report = await reconcile({
    db: database.db,
    client,
    repair: values.repair,
    taskQueue: values['all-task-queues'] ? undefined : config.temporal.taskQueue,
    settleMs,
  });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatReport(report));
  exitCode = report.differences.every((d) => d.repaired) ? 0 : 1;
} catch (error) {
  console.error(`reconcile failed: ${(error as Error).message}`);
} finally {
  await client.connection.close();
  await database.close();
}
process.exit(exitCode);
