/** The backup file format: what goes in comes out whole, and a changed byte or a wrong key is refused before any part is used. */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  BackupFileError,
  decryptBackupFile,
  extractParts,
  sha256OfFile,
  writeBackupFile,
  type BackupManifest,
} from '#backup/file.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'fanzha-backup-file-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const key = randomBytes(32);

async function makeBackup(name: string) {
  const parts = { 'temporal.sqlite': path.join(dir, `${name}-a`), 'pglite.tar.gz': path.join(dir, `${name}-b`) };
  writeFileSync(parts['temporal.sqlite'], randomBytes(100_000));
  writeFileSync(parts['pglite.tar.gz'], 'PGlite dump 反诈');
  const manifest: BackupManifest = {
    format: 1,
    takenAt: '2026-12-02T10:00:00.000Z',
    versions: { fanzha: '0.1.0', node: process.version, pglite: '0.5.17', postgres: '18' },
    migrations: 7,
    auditKeyId: 'abcd',
    archiverPaused: true,
    parts: await Promise.all(
      Object.entries(parts).map(async ([part, file]) => ({
        name: part,
        bytes: statSync(file).size,
        sha256: await sha256OfFile(file),
      })),
    ),
  };
  const file = path.join(dir, `${name}.backup`);
  await writeBackupFile(file, key, manifest, parts);
  return { file, parts, manifest };
}

const outputs = (name: string) => ({
  'temporal.sqlite': path.join(dir, `${name}-out-a`),
  'pglite.tar.gz': path.join(dir, `${name}-out-b`),
});

describe('backup file', () => {
  it('gives back the manifest and every part byte for byte, from a 0600 file that does not show them', async () => {
    const { file, parts, manifest } = await makeBackup('round');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file).includes(Buffer.from('PGlite dump'))).toBe(false);
    const plain = path.join(dir, 'round.plain');
    await decryptBackupFile(file, key, plain);
    const out = outputs('round');
    expect(await extractParts(plain, out)).toEqual(manifest);
    for (const part of Object.keys(parts) as (keyof typeof parts)[])
      expect(readFileSync(out[part]).equals(readFileSync(parts[part]))).toBe(true);
  });

  it('refuses a file with one byte changed, anywhere, and a wrong key', async () => {
    const { file } = await makeBackup('bad');
    const bytes = readFileSync(file);
    for (const at of [3, 12, 40, Math.floor(bytes.length / 2), bytes.length - 1]) {
      const changed = Buffer.from(bytes);
      changed[at]! ^= 0x80;
      const corrupt = path.join(dir, `bad-${at}.backup`);
      writeFileSync(corrupt, changed);
      await expect(decryptBackupFile(corrupt, key, path.join(dir, `bad-${at}.plain`))).rejects.toBeInstanceOf(
        BackupFileError,
      );
    }
    await expect(decryptBackupFile(file, randomBytes(32), path.join(dir, 'bad-key.plain'))).rejects.toThrow(
      /failed its integrity check/,
    );
  });

  it('refuses a part whose bytes do not match the SHA-256 of its manifest', async () => {
    const { file } = await makeBackup('hash');
    const plain = path.join(dir, 'hash.plain');
    await decryptBackupFile(file, key, plain);
    const bytes = readFileSync(plain);
    bytes[bytes.length - 1]! ^= 0x01;
    writeFileSync(plain, bytes);
    await expect(extractParts(plain, outputs('hash'))).rejects.toThrow(/pglite.tar.gz does not match the SHA-256/);
  });
});
