/**
 * Finds or builds a self-hosted Temporal Server and its SQL tool (`npm run cluster`): TEMPORAL_SERVER_DIR
 * (a folder holding `server`, `sql` and `schema/`), else the per-user cache, else `go install` into it,
 * with the PostgreSQL schemas copied beside the binaries from the same module version.
 */
import { cpSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fanzhaCacheDir, goInstallInto, goModuleDir, isExecutable, type Log } from './go-install.js';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';

export interface TemporalServerBinaries {
  server: string;
  sqlTool: string;
  /** schema/postgresql/v12 of the same version: `temporal/versioned` and `visibility/versioned`. */
  schemaDir: string;
}

const inDir = (dir: string): TemporalServerBinaries => ({
  server: path.join(dir, 'server'),
  sqlTool: path.join(dir, 'sql'),
  schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
});
const complete = (b: TemporalServerBinaries) =>
  isExecutable(b.server) && isExecutable(b.sqlTool) && existsSync(path.join(b.schemaDir, 'temporal', 'versioned'));

export async function findOrBuildTemporalServer(log: Log, env = process.env): Promise<TemporalServerBinaries> {
  if (env.TEMPORAL_SERVER_DIR) {
    const given = inDir(env.TEMPORAL_SERVER_DIR);
    if (!complete(given))
      throw new Error(
        `TEMPORAL_SERVER_DIR=${env.TEMPORAL_SERVER_DIR} must hold the \`server\` and \`sql\` binaries and schema/postgresql/v12 of Temporal ${TEMPORAL_SERVER_VERSION}`,
      );
    return given;
  }
  const cacheDir = fanzhaCacheDir(`temporal-server-${TEMPORAL_SERVER_VERSION}`, env);
  const cached = inDir(cacheDir);
  if (complete(cached)) return cached;
  if (!isExecutable(cached.server) || !isExecutable(cached.sqlTool))
    await goInstallInto(
      cacheDir,
      `the Temporal Server ${TEMPORAL_SERVER_VERSION} and its SQL tool`,
      [`${MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`, `${MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`],
      ['server', 'sql'],
      log,
      env,
    );
  const source = path.join(goModuleDir(`${MODULE}@${TEMPORAL_SERVER_VERSION}`, env), 'schema', 'postgresql', 'v12');
  cpSync(source, cached.schemaDir, { recursive: true });
  return cached;
}
