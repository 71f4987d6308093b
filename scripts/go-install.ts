/**
 * `go install` of pinned Go modules into a per-user cache folder (DESIGN.md §2): the Temporal CLI for the
 * dev server, and the Temporal server with its SQL tool for `npm run cluster`. Built once per machine
 * and reused by every clone, with progress shown while it runs.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export type Log = (line: string) => void;

export class GoBuildError extends Error {}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Outside the repo, so every clone on this machine reuses one build. */
export function fanzhaCacheDir(name: string, env = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'fanzha', name);
}

/**
 * Builds `modules` (each `path@version`) with one `go install` into `cacheDir`, where `binaries` are
 * expected. A build goes into a private folder and is renamed into place, so two builds racing never
 * leave a half-written binary.
 */
export async function goInstallInto(
  cacheDir: string,
  what: string,
  modules: string[],
  binaries: string[],
  log: Log,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.error || go.status !== 0)
    throw new GoBuildError(
      `Go is not installed to build ${what}. Install Go 1.23 or newer, or see README.md for a prebuilt binary.`,
    );
  mkdirSync(cacheDir, { recursive: true });
  const staging = mkdtempSync(path.join(cacheDir, '.build-'));
  log(`Building ${what} with \`go install ${modules.join(' ')}\` into ${cacheDir}.`);
  log('This is a one-time build and takes several minutes on a small machine; later runs reuse it.');
  const started = Date.now();
  const progress = setInterval(
    () => log(`  … still building ${what} (${Math.round((Date.now() - started) / 1000)} s)`),
    30_000,
  );
  try {
    const output: string[] = [];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn('go', ['install', '-trimpath', ...modules], {
        // Outside any module of ours, so the pinned versions are the only ones asked for.
        cwd: os.tmpdir(),
        env: { ...env, GOBIN: staging, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const keep = (chunk: Buffer) => output.push(chunk.toString());
      child.stdout.on('data', keep);
      child.stderr.on('data', keep);
      child.on('error', reject);
      child.on('close', resolve);
    });
    const missing = binaries.filter((binary) => !existsSync(path.join(staging, binary)));
    if (code !== 0 || missing.length > 0)
      throw new GoBuildError(
        `\`go install ${modules.join(' ')}\` failed (exit ${code}):\n${output.join('').slice(-4000)}\n` +
          'Check that the Go module proxy is reachable (GOPROXY) and Go is 1.23 or newer.',
      );
    for (const binary of binaries) renameSync(path.join(staging, binary), path.join(cacheDir, binary));
    log(`${what} built in ${Math.round((Date.now() - started) / 1000)} s.`);
  } finally {
    clearInterval(progress);
    rmSync(staging, { recursive: true, force: true });
  }
}

/** Where `go mod download` keeps a module's source (its files: configuration templates, SQL schemas). */
export function goModuleDir(module: string, env: NodeJS.ProcessEnv = process.env): string {
  const result = spawnSync('go', ['mod', 'download', '-json', module], {
    cwd: os.tmpdir(),
    env: { ...env, GOFLAGS: env.GOFLAGS ?? '-mod=mod' },
    encoding: 'utf8',
  });
  const dir = result.status === 0 ? (JSON.parse(result.stdout) as { Dir?: string }).Dir : undefined;
  if (!dir) throw new GoBuildError(`\`go mod download ${module}\` failed:\n${result.stderr || result.stdout}`);
  return dir;
}
