/**
 * `npm start` on a fresh data folder and free ports, as an operator runs it: a supervisor with two
 * children, the Temporal dev server and the application process (API, worker, PGlite).
 * - While it runs, the data folder is its own: a second `npm start`, `npm run admin` and `npm run audit`
 *   on the same folder refuse, naming the running system, and leave it untouched.
 * - The application process is SIGKILLed in the middle of a stream of filed alerts: the supervisor logs
 *   the death and starts it again, Temporal stays up, the platform's retries get through, and every
 *   alert the API had accepted — before the kill as after — is there afterwards.
 * - SIGINT stops both children and frees the data folder.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_FILE } from '#scripts/data-dir-lock.js';
import { newAlert, waitFor } from '../helpers/alerts.js';
import {
  embeddedSystemPlace,
  startNodeProcess,
  startSystemProcess,
  stopSystemProcess,
  supervisedPid,
  type ManagedProcess,
} from '../helpers/processes.js';
import { fetchSender, newTraffic, typedClient } from './scenario.js';

const ADMIN_TOKEN = 'supervisor-test-admin-token-0123456789';
const ALERTS = 40;
const FILERS = 4;

let dataDir: string;
let env: Record<string, string> & { PORT: string };
let system: ManagedProcess;
let base: string;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A user with these roles and a token of theirs, made through the API by the bootstrap admin. */
async function userToken(roles: string[]): Promise<string> {
  const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
  const created = await fetch(`${base}/v1/users`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ name: roles.join('+'), roles }),
  });
  expect(created.status).toBe(201);
  const { userId } = (await created.json()) as { userId: string };
  const issued = await fetch(`${base}/v1/users/${userId}/tokens`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({ label: 'supervisor-test' }),
  });
  expect(issued.status).toBe(201);
  return ((await issued.json()) as { token: string }).token;
}

beforeAll(async () => {
  dataDir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-npm-start-'));
  env = {
    ...(await embeddedSystemPlace(dataDir)),
    FANZHA_ADMIN_TOKEN: ADMIN_TOKEN,
    FANZHA_RATE_LIMIT_PER_MINUTE: '10000000',
    FANZHA_LOG_LEVEL: 'warn',
  };
  base = `http://127.0.0.1:${env.PORT}`;
  system = await startSystemProcess(env);
}, 300_000);

afterAll(async () => {
  if (system) await stopSystemProcess(system);
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start', () => {
  it('keeps its data folder to itself: a second npm start, npm run admin and npm run audit refuse', async () => {
    const second = startNodeProcess('second-npm-start', 'scripts/start-all.ts', {
      ...env,
      ...(await embeddedSystemPlace(dataDir)),
    });
    const admin = startNodeProcess('admin', 'scripts/admin.ts', env, ['list-users']);
    const audit = startNodeProcess('audit', 'scripts/audit.ts', env, ['verify']);
    for (const refused of [second, admin, audit]) {
      const exit = await Promise.race([
        refused.exited,
        new Promise<'still running'>((r) => setTimeout(() => r('still running'), 90_000)),
      ]);
      await refused.kill('SIGKILL');
      expect(exit, `${refused.name}:\n${refused.output()}`).toEqual({ code: 2, signal: null });
      expect(refused.output()).toContain(`The data folder ${dataDir} is in use by npm start (pid ${system.pid}`);
    }
    expect(second.output()).not.toContain('Temporal dev server running');
    // The running system never noticed: no child of it died.
    expect(system.output()).not.toMatch(/\(pid \d+\) (died|exited)/);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
  }, 200_000);

  it('starts a SIGKILLed application process again, with Temporal untouched and no accepted alert lost', async () => {
    const platform = await userToken(['platform']);
    const supervisor = await userToken(['supervisor']);
    const temporalPid = supervisedPid(system, 'the Temporal dev server');
    const appPid = supervisedPid(system, 'the application process');
    const send = fetchSender(() => base, 10_000);
    const traffic = newTraffic();
    const alerts = Array.from({ length: ALERTS }, () => newAlert());
    const accepted = new Set<string>();
    let next = 0;
    // The platform files each alert once and retries it (same Idempotency-Key) until it is answered.
    const load = Promise.all(
      Array.from({ length: FILERS }, async () => {
        for (let alert = alerts[next++]; alert; alert = alerts[next++]) {
          const reply = await typedClient(send, traffic, platform).POST('/v1/alerts', {
            params: { header: { 'idempotency-key': alert.alertId } },
            body: alert,
          });
          expect([200, 201], JSON.stringify(reply.error)).toContain(reply.response.status);
          accepted.add(alert.alertId);
          await new Promise((r) => setTimeout(r, 50));
        }
      }),
    );

    await waitFor('a quarter of the alerts to be accepted', async () => accepted.size >= ALERTS / 4, 120_000);
    const acceptedBeforeKill = [...accepted];
    process.kill(appPid, 'SIGKILL');
    await waitFor(
      'the supervisor to start the application process again',
      async () => supervisedPid(system, 'the application process') !== appPid,
      60_000,
    );
    await load;

    expect(acceptedBeforeKill.length).toBeLessThan(ALERTS);
    expect(accepted.size).toBe(ALERTS);
    // The platform did meet the dead API, and carried on.
    expect(traffic.retries.network ?? 0).toBeGreaterThan(0);
    expect(traffic.serverErrors).toEqual([]);
    expect(system.output()).toMatch(
      new RegExp(`the application process \\(pid ${appPid}\\) died \\(SIGKILL\\); starting it again in 1 s`),
    );
    // The other child was left alone.
    expect(alive(temporalPid)).toBe(true);
    expect(supervisedPid(system, 'the Temporal dev server')).toBe(temporalPid);
    expect(system.alive()).toBe(true);
    // Every alert accepted — those before the kill first — is there, in its workflow and in the read model.
    for (const alertId of [...acceptedBeforeKill, ...[...accepted].filter((id) => !acceptedBeforeKill.includes(id))]) {
      const reply = await typedClient(send, traffic, supervisor).GET('/v1/alerts/{alertId}', {
        params: { path: { alertId } },
      });
      expect(reply.response.status, `${alertId}: ${JSON.stringify(reply.error)}`).toBe(200);
      expect(reply.data).toMatchObject({ alertId, workflowId: expect.any(String) });
    }
    console.log(
      `npm start: application process ${appPid} killed after ${acceptedBeforeKill.length}/${ALERTS} alerts; retries ${JSON.stringify(traffic.retries)}`,
    );
  }, 300_000);

  it('stops both children on SIGINT and frees the data folder', async () => {
    const temporalPid = supervisedPid(system, 'the Temporal dev server');
    const appPid = supervisedPid(system, 'the application process');
    process.kill(system.pid, 'SIGINT');
    const exit = await Promise.race([
      system.exited,
      new Promise<'still running'>((r) => setTimeout(() => r('still running'), 90_000)),
    ]);
    expect(exit, system.output().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(alive(appPid)).toBe(false);
    expect(alive(temporalPid)).toBe(false);
    expect(existsSync(path.join(dataDir, LOCK_FILE))).toBe(false);
    expect(system.output()).toContain('stopping (SIGINT): the application process, then Temporal');
  }, 120_000);
});
