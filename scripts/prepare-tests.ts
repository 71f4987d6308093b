/**
 * Runs before `npm test`, and provisions everything the suites need in one place: the Temporal CLI and Server
 * (built once, with progress), the local PostgreSQL (started when down and DATABASE_URL is not given),
 * and Debian's Chromium with CJK fonts for the console's browser tests (installed with apt-get when
 * missing; a test tool never downloads a browser of its own).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import postgres from 'postgres';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { findOrBuildTemporalCli, TemporalCliError } from './temporal-cli.js';
import { findOrBuildTemporalServer } from './temporal-server.js';

async function postgresAnswers(url: string): Promise<boolean> {
  const sql = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await sql`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

try {
  const cli = await findOrBuildTemporalCli((line) => console.error(line));
  console.error(`Temporal CLI: ${cli}`);
  // The cluster test's self-hosted server: built once (minutes), with progress, before any test waits on it.
  const server = await findOrBuildTemporalServer((line) => console.error(line));
  console.error(`Temporal Server: ${server.server}`);
} catch (error) {
  console.error(error instanceof TemporalCliError ? error.message : error);
  process.exit(1);
}

const url = process.env.DATABASE_URL || LOCAL_POSTGRES_URL;
if (!(await postgresAnswers(url))) {
  if (process.env.DATABASE_URL) {
    console.error(
      `PostgreSQL at DATABASE_URL does not answer; start it or unset DATABASE_URL to use the local server.`,
    );
    process.exit(1);
  }
  let versions: string[] = [];
  try {
    versions = readdirSync('/etc/postgresql');
  } catch {
    // not a Debian-style install
  }
  if (versions.length === 0) {
    console.error(
      'PostgreSQL does not answer on 127.0.0.1:5432 and no local cluster was found: start PostgreSQL or set DATABASE_URL.',
    );
    process.exit(1);
  }
  console.error(`Starting the local PostgreSQL ${versions[0]} cluster…`);
  spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', versions[0]!, 'main', 'start'], { stdio: 'inherit' });
  for (let i = 0; i < 30 && !(await postgresAnswers(url)); i++) await new Promise((r) => setTimeout(r, 1000));
  if (!(await postgresAnswers(url))) {
    console.error('PostgreSQL did not come up on 127.0.0.1:5432.');
    process.exit(1);
  }
}
console.error('PostgreSQL answers.');

const CHROMIUM = process.env.FANZHA_CHROMIUM ?? '/usr/bin/chromium';
const cjkFonts = () =>
  (spawnSync('dpkg-query', ['-W', '-f=${Status}', 'fonts-noto-cjk'], { encoding: 'utf8' }).stdout ?? '').includes(
    'install ok installed',
  );
if (!existsSync(CHROMIUM) || !cjkFonts()) {
  console.error('Installing Chromium and CJK fonts for the console tests (apt-get: chromium, fonts-noto-cjk)…');
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (
    apt(['update']).status !== 0 ||
    apt(['install', '-y', '--no-install-recommends', 'chromium', 'fonts-noto-cjk']).status !== 0
  ) {
    console.error(
      'Could not install chromium and fonts-noto-cjk with apt-get (run as root, or install them, or set FANZHA_CHROMIUM).',
    );
    process.exit(1);
  }
}
const version = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`${CHROMIUM} does not run: ${version.stderr}`);
  process.exit(1);
}
console.error(`Browser: ${version.stdout.trim()}`);
