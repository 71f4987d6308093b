/**
 * `npm run audit -- <command>` (not `npm audit`, which is npm's own): offline audit tools.
 *
 *   npm run audit -- replay <workflowId>                 replay every run of the workflow against the current code
 *   npm run audit -- replay-archive [--type T] [--workflow W]
 *                                                        replay every archived history (or those of one type / workflow)
 *   npm run audit -- verify                              check the archive's sealed chain and its anchor in Temporal
 *   npm run audit -- timeline <workflowId>               print the human timeline
 *
 * Histories come from Temporal when it answers (TEMPORAL_ADDRESS …), else from the archive
 * (DATABASE_URL, or the embedded PGlite of a stopped `npm start`). Replays run against workflows/ as
 * it is now, or against --bundle <file> / FANZHA_REPLAY_BUNDLE. Exit code 1 on any mismatch or a
 * broken chain, 2 on bad usage, an unknown workflow, or an embedded data folder that a running
 * `npm start` holds.
 */
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { asc, and, eq, gt } from 'drizzle-orm';
import { readAnchor } from '#audit/anchor.js';
import { verifyArchive } from '#audit/chain.js';
import { createReplayer, type ReplayInput } from '#audit/replay.js';
import { createHistorySource } from '#audit/source.js';
import { chainTimeline } from '#audit/timeline.js';
import { archiveKey, loadConfigOrExit } from '#config/index.js';
import { prepareDatabase } from '#db/prepare.js';
import { auditArchive } from '#db/schema.js';
import { lockEmbeddedDatabaseOrExit } from './data-dir-lock.js';

const USAGE =
  'usage: npm run audit -- replay <workflowId> | replay-archive [--type T] [--workflow W] | verify | timeline <workflowId>   [--bundle <file>]';
const { values: options, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    type: { type: 'string' },
    workflow: { type: 'string' },
    bundle: { type: 'string' },
    help: { type: 'boolean' },
  },
});
const [command, target] = positionals;
if (options.help || !command || !['replay', 'replay-archive', 'verify', 'timeline'].includes(command)) {
  console.error(USAGE);
  process.exit(options.help ? 0 : 2);
}
if ((command === 'replay' || command === 'timeline') && !target) {
  console.error(`${command} needs a workflow ID\n${USAGE}`);
  process.exit(2);
}

const config = loadConfigOrExit();
// PGlite serves one process: never beside a running `npm start` (or another tool) on the same data folder.
lockEmbeddedDatabaseOrExit(config, 'npm run audit');
Runtime.install({ logger: new DefaultLogger('ERROR') });
const database = await prepareDatabase(config);
const replayer = createReplayer({ bundlePath: options.bundle ?? config.audit.replayBundlePath });

async function connectTemporal(): Promise<Client | null> {
  try {
    const connection = await Connection.connect({
      ...config.temporal.connect.connectionOptions,
      connectTimeout: 3_000,
    } as Parameters<typeof Connection.connect>[0]);
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (error) {
    console.error(`Temporal does not answer (${(error as Error).message}); reading the archive only.`);
    return null;
  }
}

let exitCode = 0;
let temporal: Client | null = null;
try {
  if (command === 'verify') {
    // The key checks each record's seal; Temporal holds the anchor the head is compared with.
    temporal = await connectTemporal();
    const result = temporal
      ? await verifyArchive(database.db, {
          key: archiveKey(config),
          anchor: await readAnchor(temporal, config.temporal.taskQueue),
        })
      : {
          ok: false,
          records: 0,
          reason: "Temporal does not answer: the archive's head cannot be checked against its anchor",
        };
    console.log(JSON.stringify(result));
    if (!result.ok) {
      console.error(`The archive does not verify: ${result.reason}.`);
      exitCode = 1;
    } else console.error(`The archive's chain holds, sealed and anchored: ${result.records} record(s).`);
  } else if (command === 'replay-archive') {
    let after = 0;
    let replayed = 0;
    let mismatches = 0;
    async function* archived(): AsyncGenerator<ReplayInput & { runId: string; type: string }> {
      for (;;) {
        const rows = await database.db
          .select({
            id: auditArchive.id,
            workflowId: auditArchive.workflowId,
            runId: auditArchive.runId,
            workflowType: auditArchive.workflowType,
            history: auditArchive.history,
          })
          .from(auditArchive)
          .where(
            and(
              gt(auditArchive.id, after),
              options.type ? eq(auditArchive.workflowType, options.type) : undefined,
              options.workflow ? eq(auditArchive.workflowId, options.workflow) : undefined,
            ),
          )
          .orderBy(asc(auditArchive.id))
          .limit(50);
        for (const row of rows)
          yield { workflowId: row.workflowId, runId: row.runId, type: row.workflowType, history: row.history };
        if (rows.length < 50) return;
        after = rows[rows.length - 1]!.id;
      }
    }
    await replayer.replayAll(archived(), (input, verdict) => {
      const { runId, type } = input as ReplayInput & { runId: string; type: string };
      replayed++;
      if (verdict.deterministic) console.log(`ok        ${type} ${input.workflowId} ${runId}`);
      else {
        mismatches++;
        console.log(`MISMATCH  ${type} ${input.workflowId} ${runId}: ${verdict.error}`);
      }
    });
    console.error(
      `${replayed} archived histor${replayed === 1 ? 'y' : 'ies'} replayed, ${mismatches} mismatch${mismatches === 1 ? '' : 'es'}.`,
    );
    if (mismatches > 0) exitCode = 1;
  } else {
    temporal = await connectTemporal();
    const source = createHistorySource({ db: database.db, temporal });
    const chain = await source.loadChain(target!);
    if (!chain) {
      console.error(`Workflow ${target} is neither in Temporal nor in the audit archive.`);
      exitCode = 2;
    } else if (command === 'timeline') {
      for (const entry of chainTimeline(chain.runs.map((r) => ({ runId: r.runId, history: r.history }))))
        console.log(
          `${entry.at}  ${entry.kind.padEnd(26)} ${entry.actor ? `[${entry.actor.name ?? entry.actor.userId} · ${entry.actor.role}] ` : ''}${entry.summary}`,
        );
    } else {
      if (chain.missingRunId)
        console.error(
          `Run ${chain.missingRunId} (which the oldest run found continued from) is in neither Temporal nor the archive.`,
        );
      const verdicts = await replayer.replayAll(
        chain.runs.map((run) => ({ workflowId: run.workflowId, history: run.history })),
      );
      verdicts.forEach((verdict, i) => {
        const run = chain.runs[i]!;
        const where = `${run.workflowType} ${run.workflowId} ${run.runId} (${run.history.events.length} events, from ${run.source})`;
        if (verdict.deterministic) console.log(`ok        ${where}`);
        else {
          exitCode = 1;
          console.log(`MISMATCH  ${where}: ${verdict.error}`);
        }
      });
    }
  }
} finally {
  await temporal?.connection.close();
  await database.close();
}
process.exit(exitCode);
