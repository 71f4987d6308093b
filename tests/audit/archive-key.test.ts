/**
 * The archive's key (FANZHA_AUDIT_KEY): required of an API or a worker, never echoed, kept by the
 * embedded `npm start` in its data folder; the key id that lets verification tell a wrong key apart.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveKey, archiveKeyId, loadConfig, loadConfigOrExit } from '#config/index.js';
import { REPO_ROOT } from '../helpers/processes.js';

const KEY = 'a-key-of-thirty-two-characters-at-least';

describe('the archive key', () => {
  it('is FANZHA_AUDIT_KEY when given, of 32 characters at least, and never echoed when refused', () => {
    expect(archiveKey(loadConfig({ FANZHA_AUDIT_KEY: KEY, DATABASE_URL: 'postgres://h/db' }))).toEqual(
      Buffer.from(KEY),
    );
    const short = 'short-secret-value';
    let refused: Error | null = null;
    try {
      loadConfig({ FANZHA_AUDIT_KEY: short });
    } catch (error) {
      refused = error as Error;
    }
    expect(refused).toMatchObject({ variable: 'FANZHA_AUDIT_KEY' });
    expect(refused!.message).not.toContain(short);
  });

  it('is none for an external database without FANZHA_AUDIT_KEY; the embedded database keeps one in its data folder', () => {
    expect(archiveKey(loadConfig({ DATABASE_URL: 'postgres://h/db' }))).toBeNull();
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-key-'));
    const first = archiveKey(loadConfig({ FANZHA_DATA_DIR: dataDir }));
    expect(first?.length).toBe(64);
    expect(archiveKey(loadConfig({ FANZHA_DATA_DIR: dataDir }))).toEqual(first);
    expect(statSync(path.join(dataDir, 'audit.key')).mode & 0o777).toBe(0o600);
    expect(archiveKey(loadConfig({ FANZHA_DATA_DIR: dataDir, FANZHA_AUDIT_KEY: KEY }))).toEqual(Buffer.from(KEY));
    expect(() => loadConfigOrExit({ FANZHA_DATA_DIR: dataDir }, { auditKey: true })).not.toThrow();
  });

  it('has a public id that differs between keys and gives nothing of the key away', () => {
    const id = archiveKeyId(Buffer.from(KEY));
    expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(archiveKeyId(Buffer.from(KEY))).toBe(id);
    expect(archiveKeyId(Buffer.from(`${KEY}!`))).not.toBe(id);
  });

  it('stops an API or a worker without FANZHA_AUDIT_KEY at start, with exit code 2 naming it', () => {
    for (const entry of ['api/server.ts', 'worker/main.ts']) {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DATABASE_URL: 'postgres://127.0.0.1:1/none',
        TEMPORAL_ADDRESS: '127.0.0.1:1',
        BANK_GATEWAY_URL: 'https://bank-gateway.center.test',
      };
      const result = spawnSync(process.execPath, ['--import', 'tsx', entry], {
        cwd: REPO_ROOT,
        env,
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(result.status, entry).toBe(2);
      expect(result.stderr, entry).toContain('Configuration error: FANZHA_AUDIT_KEY is required');
    }
  });
});
