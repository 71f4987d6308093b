/**
 * Runs before `npm test`: makes sure the Temporal CLI exists (building it once, with progress) and
 * that the local PostgreSQL answers, starting it when it is down and DATABASE_URL is not given.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import postgres from 'postgres';
import { findOrBuildTemporalCli, TemporalCliError } from './temporal-cli.js';

export const DEFAULT_TEST_DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

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
} catch (error) {
  console.error(error instanceof TemporalCliError ? error.message : error);
  process.exit(1);
}

const url = process.env.DATABASE_URL || DEFAULT_TEST_DATABASE_URL;
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
