/**
 * Finds or builds the Temporal CLI (which contains the dev server), DESIGN.md §2:
 * TEMPORAL_CLI_PATH, then `temporal` on PATH, then the per-user cache, else `go install` into it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

type Log = (line: string) => void;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Outside the repo, so every clone on this machine reuses one build. */
export function cliCacheDir(env = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'fanzha', `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

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
  await buildInto(cacheDir, log, env);
  return cached;
}

async function buildInto(cacheDir: string, log: Log, env: NodeJS.ProcessEnv): Promise<void> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0)
    throw new TemporalCliError(
      'No Temporal CLI found and Go is not installed to build one. Install Go 1.23 or newer, ' +
        'put a `temporal` binary on PATH, or set TEMPORAL_CLI_PATH to one.',
    );
  mkdirSync(cacheDir, { recursive: true });
  // Build into a private folder and rename, so two builds racing never leave a half-written binary.
  const staging = mkdtempSync(path.join(cacheDir, '.build-'));
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with \`go install ${MODULE}\` into ${cacheDir}.`);
  log('This is a one-time build and takes several minutes on a small machine; later runs reuse it.');
  const started = Date.now();
  const progress = setInterval(
    () => log(`  … still building the Temporal CLI (${Math.round((Date.now() - started) / 1000)} s)`),
    30_000,
  );
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('go', ['install', '-trimpath', MODULE], {
        env: { ...env, GOBIN: staging, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => output.push(chunk.toString());
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0 || !existsSync(path.join(staging, 'temporal')))
      throw new TemporalCliError(
        `\`go install ${MODULE}\` failed (exit ${code}):\n${output.join('').slice(-4000)}\n` +
          'Check that the Go module proxy is reachable (GOPROXY) and Go is 1.23 or newer, or set TEMPORAL_CLI_PATH to a temporal binary.',
      );
    renameSync(path.join(staging, 'temporal'), path.join(cacheDir, 'temporal'));
    log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s.`);
  } finally {
    clearInterval(progress);
    rmSync(staging, { recursive: true, force: true });
  }
}
