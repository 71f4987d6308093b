/**
 * `npm run restore` on a cluster (TEMPORAL_ADDRESS and DATABASE_URL), called by scripts/restore.ts:
 *   npm run restore -- FILE       with the cluster stopped: pg_restore of the three databases into empty
 *                                 ones (backup/cluster.ts); nothing is touched unless the whole file checks.
 *   npm run restore -- --finish   once the cluster runs on them: resumes the archiver schedule the backup
 *                                 paused, and repairs the read model from the workflows (reconcile --repair).
 * Exit 0 done, 1 refused file or failure, 2 usage/configuration/tool/database error.
 */
import { resumeArchiverPausedByBackup } from '#backup/archiver-pause.js';
import { sayWhatTheRestoreLacks } from '#backup/bank-ledger.js';
import { clusterDatabases, ClusterSetupError, restoreCluster } from '#backup/cluster.js';
import { BackupFileError } from '#backup/file.js';
import type { FanzhaConfig } from '#config/index.js';
import { openDatabase } from '#db/client.js';
import { formatReport, reconcile } from '#read-model/reconcile.js';
import { createTemporalClient } from '#services/temporal-client.js';

export async function restoreClusterCommand(
  config: FanzhaConfig,
  file: string | null,
  say: (line: string) => void,
): Promise<number> {
  if (file === null) return finishClusterRestore(config, say);
  try {
    const manifest = await restoreCluster({ config, file, databases: clusterDatabases(config), log: say });
    say(`restored ${file} (backup taken at ${manifest.takenAt}, Fanzha ${manifest.versions.fanzha})`);
    await sayWhatTheRestoreLacks(
      config.bankGatewayUrl,
      manifest.takenAt,
      say,
      'its stopped process (npm run cluster’s own simulator)',
    );
    say(
      'next: start the cluster on these databases (npm run cluster with the same --name, or your Temporal server, workers and APIs), then run `npm run restore -- --finish` with this configuration: it resumes the archiver schedule the backup paused and repairs the read model from the workflows (npm run reconcile -- --repair)',
    );
    return 0;
  } catch (error) {
    if (error instanceof ClusterSetupError) {
      say(error.message);
      return 2;
    }
    say(`${error instanceof BackupFileError ? 'refused' : 'failed'}: ${(error as Error).message}`);
    return 1;
  }
}

async function finishClusterRestore(config: FanzhaConfig, say: (line: string) => void): Promise<number> {
  const client = createTemporalClient(config);
  const database = await openDatabase({ url: config.databaseUrl!, dataDir: config.dataDir, poolSize: 4 });
  try {
    const archiver = await resumeArchiverPausedByBackup(client, config.temporal.taskQueue);
    say(
      {
        resumed: 'archiver schedule resumed (the backup had paused it)',
        running: 'the archiver schedule runs already',
        'paused by someone else': 'the archiver schedule is paused, not by a backup: left paused',
        absent: 'no archiver schedule yet: the workers create it when they start',
      }[archiver],
    );
    // The databases were dumped a moment apart: the workflows are the truth, the read model follows them.
    const report = await reconcile({ db: database.db, client, repair: true, taskQueue: config.temporal.taskQueue });
    say(`read model reconciled after the restore: ${formatReport(report).replaceAll('\n', '; ')}`);
    return report.differences.every((d) => d.repaired) ? 0 : 1;
  } catch (error) {
    say(`failed (run it again once the workers run): ${(error as Error).message}`);
    return 1;
  } finally {
    await client.connection.close();
    await database.close();
  }
}
