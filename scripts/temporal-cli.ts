/**
 * Finds or builds the Temporal CLI (which contains the dev server), DESIGN.md §2:
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then the per-user cache, else `go install` into it.
 */
import path from 'node:path';
import { fanzhaCacheDir, GoBuildError, goInstallInto, isExecutable, type Log } from './go-install.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export const cliCacheDir = (env = process.env): string => fanzhaCacheDir(`temporal-cli-${TEMPORAL_CLI_VERSION}`, env);

function onPath(env = process.env): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && isExecutable(candidate)) return candidate;
  }
  return null;
}

export class TemporalCliError extends Error {}

export async function findOrBuildTemporalCli(log: Log = (l) => console.error(l), env = process.env): Promise<string> {
  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH))
      throw new TemporalCliError(
        `TEMPORAL_CLI_PATH=${env.TEMPORAL_CLI_PATH} is not an executable file; point it at a temporal CLI binary or unset it.`,
      );
    return env.TEMPORAL_CLI_PATH;
  }
  const fromPath = onPath(env);
  if (fromPath) return fromPath;
  const cacheDir = cliCacheDir(env);
  const cached = path.join(cacheDir, 'temporal');
  if (isExecutable(cached)) return cached;
  try {
    await goInstallInto(cacheDir, `the Temporal CLI ${TEMPORAL_CLI_VERSION}`, [MODULE], ['temporal'], log, env);
  } catch (error) {
    if (!(error instanceof GoBuildError)) throw error;
    throw new TemporalCliError(
      `No Temporal CLI found. ${error.message} Or put a \`temporal\` binary on PATH, or set TEMPORAL_CLI_PATH to one.`,
    );
  }
  return cached;
}
