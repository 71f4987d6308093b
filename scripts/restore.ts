/**
 * `npm run restore -- FILE [--audit-key KEYFILE]`: brings a backup of `npm run backup` back into an
 * EMPTY data folder (FANZHA_DATA_DIR), refusing any other. Needs FANZHA_BACKUP_KEY, and the audit
 * archive's key, which no backup holds: FANZHA_AUDIT_KEY, or --audit-key naming a copy of the old
 * folder's audit.key. The file is checked whole (AES-256-GCM tag, then each part's SHA-256) before
 * anything is written. The next `npm start` on the folder reconciles the read model from the
 * workflows (RESTORED_MARKER). Exit 0 restored, 1 refused file, 2 usage/configuration/folder error.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { archiveKeyId, loadConfigOrExit } from '#config/index.js';
import { loadPgliteDump } from '#db/client.js';
import { sayWhatTheRestoreLacks } from '#backup/bank-ledger.js';
import {
  BackupFileError,
  expectKnownMigrations,
  decryptBackupFile,
  extractParts,
  readManifest,
  RESTORED_MARKER,
  RESTORING_MARKER,
} from '#backup/file.js';
import { restoreClusterCommand } from './restore-cluster.js';

const say = (line: string) => console.error(`[restore] ${line}`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { 'audit-key': { type: 'string' }, finish: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help || positionals.length !== (values.finish ? 0 : 1)) {
  console.error(`npm run restore -- FILE [--audit-key KEYFILE]

Restores the backup FILE into the empty data folder FANZHA_DATA_DIR, with FANZHA_BACKUP_KEY. The
audit archive's key is FANZHA_AUDIT_KEY, or KEYFILE (a copy of the old data folder's audit.key).
A cluster (TEMPORAL_ADDRESS and DATABASE_URL): the three databases, stopped and empty, with pg_restore;
then, once the cluster runs on them, \`npm run restore -- --finish\` (resumes the archiver, reconciles).`);
  process.exit(values.help ? 0 : 2);
}
const file = path.resolve(positionals[0] ?? '');
const config = loadConfigOrExit();
// A cluster: its three PostgreSQL databases (scripts/restore-cluster.ts, backup/cluster.ts).
if (!config.temporal.embedded && config.databaseUrl)
  process.exit(await restoreClusterCommand(config, values.finish ? null : file, say));
if (values.finish) {
  say(
    '--finish is for a cluster (TEMPORAL_ADDRESS and DATABASE_URL); the embedded system finishes at its next `npm start`',
  );
  process.exit(2);
}
if (!config.backupKey) {
  say('FANZHA_BACKUP_KEY is required: the key the backup was made with');
  process.exit(2);
}
if (!existsSync(file)) {
  say(`no such file: ${file}`);
  process.exit(2);
}
const dataDir = config.dataDir;
if (existsSync(dataDir) && readdirSync(dataDir).length > 0) {
  say(
    `refusing to restore into ${dataDir}: it is not empty. A restore replaces a whole system; give it an empty folder (FANZHA_DATA_DIR) and keep this one until the restored system runs.`,
  );
  process.exit(2);
}
const auditKeyText =
  config.audit.key ?? (values['audit-key'] ? readFileSync(values['audit-key'], 'utf8').trim() : null);
if (!auditKeyText) {
  say(
    'the audit archive’s key is not in the backup: set FANZHA_AUDIT_KEY, or pass --audit-key with a copy of the old data folder’s audit.key',
  );
  process.exit(2);
}

mkdirSync(dataDir, { recursive: true, mode: 0o700 });
writeFileSync(
  path.join(dataDir, RESTORING_MARKER),
  `${JSON.stringify({ file, startedAt: new Date().toISOString() })}\n`,
);
const plain = path.join(dataDir, '.restore-plain');
const destinations = {
  'temporal.sqlite': path.join(dataDir, 'temporal.sqlite'),
  'pglite.tar.gz': path.join(dataDir, '.restore-pglite.tar.gz'),
};
/** Leaves the folder empty again, as it was given. */
const undo = () => {
  for (const entry of readdirSync(dataDir)) rmSync(path.join(dataDir, entry), { recursive: true, force: true });
};
try {
  await decryptBackupFile(file, config.backupKey, plain);
  if (readManifest(plain).manifest.mode === 'cluster')
    throw new BackupFileError(
      'this is a backup of a cluster (its three PostgreSQL databases): restore it with the cluster’s TEMPORAL_ADDRESS and DATABASE_URL',
    );
  const manifest = await extractParts(plain, destinations);
  rmSync(plain);
  if (archiveKeyId(Buffer.from(auditKeyText, 'utf8')) !== manifest.auditKeyId)
    throw new BackupFileError(
      'the audit archive’s key given is not the one the backed-up archive was sealed with (FANZHA_AUDIT_KEY / --audit-key)',
    );
  expectKnownMigrations(manifest);
  const dump = readFileSync(destinations['pglite.tar.gz']);
  await loadPgliteDump(dataDir, new Blob([dump], { type: 'application/x-gzip' }));
  rmSync(destinations['pglite.tar.gz']);
  // An embedded folder's audit.key (FANZHA_AUDIT_KEY, when set, is used as it is).
  if (!config.audit.key) writeFileSync(path.join(dataDir, 'audit.key'), auditKeyText, { mode: 0o600 });
  writeFileSync(
    path.join(dataDir, RESTORED_MARKER),
    `${JSON.stringify({ takenAt: manifest.takenAt, archiverPaused: manifest.archiverPaused, restoredAt: new Date().toISOString(), file })}\n`,
  );
  // Whole now: the last step, so that a restore killed before it leaves a folder npm start refuses.
  rmSync(path.join(dataDir, RESTORING_MARKER));
  say(`restored ${file} into ${dataDir} (backup taken at ${manifest.takenAt}, Fanzha ${manifest.versions.fanzha})`);
  await sayWhatTheRestoreLacks(config.bankGatewayUrl, manifest.takenAt, say, 'the stopped process');
  say('the next `npm start` on this folder reconciles the read model from the workflows');
  process.exit(0);
} catch (error) {
  undo();
  if (error instanceof BackupFileError) {
    say(`refused: ${error.message}`);
    process.exit(1);
  }
  say(`failed: ${(error as Error).message}`);
  process.exit(1);
}
