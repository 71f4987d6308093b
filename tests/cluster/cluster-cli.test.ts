/**
 * `npm run cluster` as a person runs it (scripts/cluster-cli.ts in its own process): it refuses a bad
 * option in words; it says where everything is; SIGTERM stops all of it and leaves nothing running; a
 * second start on the same databases reuses their schemas and the namespace.
 */
import os from 'node:os';
import path from 'node:path';
import { LOCAL_POSTGRES_URL } from '#config/index.js';
import { afterAll, describe, expect, it } from 'vitest';
import { dropClusterDatabases, privateClusterPorts } from '#scripts/cluster/temporal.js';
import { alive } from '#scripts/supervise.js';
import { startNodeProcess, stopAllProcesses, waitForOutput } from '../helpers/processes.js';

const NAME = `fzcli_${process.pid}`;
const dataDir = path.join(os.tmpdir(), `fanzha-cluster-cli-${process.pid}`);
const adminUrl = process.env.DATABASE_URL || LOCAL_POSTGRES_URL;
const CLI = 'scripts/cluster-cli.ts';

afterAll(async () => {
  await stopAllProcesses();
  await dropClusterDatabases(adminUrl, NAME);
}, 120_000);

describe('npm run cluster', () => {
  it('refuses a bad option in words, and starts nothing', async () => {
    const cli = startNodeProcess('cluster-cli', CLI, {}, ['--workers', 'many', '--data-dir', dataDir]);
    expect((await cli.exited).code).toBe(2);
    expect(cli.output()).toContain('--workers must be a whole number from 1 to 64, not "many"');
    expect(cli.output()).not.toContain('running (pid');
  });

  it('says where everything is, stops all of it on SIGTERM, and reuses its schemas on a second start', async () => {
    for (const round of [1, 2]) {
      const { port, temporalPort } = await privateClusterPorts(1);
      const cli = startNodeProcess('cluster-cli', CLI, {}, [
        ...['--workers', '1', '--apis', '1', '--shards', '2', '--name', NAME, '--data-dir', dataDir],
        ...['--port', String(port), '--temporal-port', String(temporalPort)],
      ]);
      await waitForOutput(cli, /Fanzha is up on a Temporal cluster/, 240_000);
      const out = cli.output();
      expect(out).toContain(`API and console   http://127.0.0.1:${port}`);
      expect(out).toContain(
        `Temporal          127.0.0.1:${temporalPort}   namespace "default", 2 history shards, retention 30 days`,
      );
      if (round === 1) {
        expect(out).toContain(`created the temporal schema in database "${NAME}_temporal"`);
        expect(out).toContain('namespace "default" registered (retention 30 days)');
      } else {
        expect(out).toContain(`checked the temporal schema in database "${NAME}_temporal"`);
        expect(out).not.toContain('registered');
      }
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      expect(await ready.json()).toMatchObject({ temporal: 'ok', database: 'ok' });

      // Temporal, the bank simulator, the worker, the API: each in a process group of its own.
      const pids = [...out.matchAll(/running \(pid (\d+)\)/g)].map((m) => Number(m[1]));
      expect(pids).toHaveLength(4);
      process.kill(cli.pid, 'SIGTERM');
      expect((await cli.exited).code).toBe(0);
      expect(pids.filter(alive)).toEqual([]);
      await expect(fetch(`http://127.0.0.1:${port}/healthz`)).rejects.toThrow();
    }
  }, 600_000);
});
