/**
 * Runs before `npm test`, and provisions everything the suites need in one place: the Temporal CLI and Server
 * (built once, with progress), the local PostgreSQL (started when down and DATABASE_URL is not given),
 * Debian's Chromium with CJK fonts for the console's browser tests, and promtool (Debian's prometheus
 * package, its service never started) for the alert rules' check — installed with apt-get when missing;
 * a test tool never downloads a browser of its own.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
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
const installed = (pkg: string) =>
  (spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' }).stdout ?? '').includes(
    'install ok installed',
  );
const runs = (command: string, ...args: string[]) => spawnSync(command, args, { stdio: 'ignore' }).status === 0;
// What is missing, in one apt-get run: Chromium and CJK fonts (console tests), promtool from Debian's
// prometheus package (the alert rules' check, tests/unit/monitoring.test.ts).
const missing = [
  ...(!existsSync(CHROMIUM) || !installed('fonts-noto-cjk') ? ['chromium', 'fonts-noto-cjk'] : []),
  ...(!runs('promtool', '--version') ? ['prometheus'] : []),
];
if (missing.length > 0) {
  console.error(`Installing what the tests need with apt-get: ${missing.join(', ')}…`);
  // Only promtool is wanted from the prometheus package: its service must not start. Debian's own switch
  // for that is a policy-rc.d that denies every start (Docker images ship one); put one there meanwhile.
  const POLICY_RC = '/usr/sbin/policy-rc.d';
  const ownPolicy = missing.includes('prometheus') && !existsSync(POLICY_RC);
  const apt = (args: string[]) =>
    spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  let done = false;
  try {
    if (ownPolicy)
      writeFileSync(POLICY_RC, '#!/bin/sh\n# prepare-tests: no service starts\nexit 101\n', { mode: 0o755 });
    done = apt(['update']).status === 0 && apt(['install', '-y', '--no-install-recommends', ...missing]).status === 0;
  } catch (error) {
    console.error((error as Error).message);
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
  if (!done) {
    console.error(
      `Could not install ${missing.join(', ')} with apt-get (run as root, or install them, or set FANZHA_CHROMIUM).`,
    );
    process.exit(1);
  }
}
const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
if (promtool.status !== 0) {
  console.error("promtool does not run: install Debian's prometheus package (its service need not run).");
  process.exit(1);
}
console.error(`promtool: ${promtool.stdout.split('\n')[0]}`);
const version = spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' });
if (version.status !== 0) {
  console.error(`${CHROMIUM} does not run: ${version.stderr}`);
  process.exit(1);
}
console.error(`Browser: ${version.stdout.trim()}`);
