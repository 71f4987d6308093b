/**
 * The file `npm run backup` writes and `npm run restore` reads: one AES-256-GCM encrypted stream
 * (key FANZHA_BACKUP_KEY, never inside the file) of a manifest and the parts it lists.
 *
 *   "FZBACKUP" | format 1 (1 byte) | IV (12 bytes) | ciphertext | GCM tag (16 bytes)
 *   plaintext: manifest length (4 bytes, big-endian) | manifest JSON | each part's bytes, in manifest order
 *
 * The header is authenticated with the data (AAD): one byte changed anywhere fails the tag.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  linkSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { MIGRATIONS_FOLDER } from '#db/client.js';

const MAGIC = Buffer.from('FZBACKUP');
const FORMAT = 1;
const HEADER_BYTES = MAGIC.length + 1 + 12;
const TAG_BYTES = 16;

/** Written by the restore into the new data folder; the next `npm start` reconciles the read model and removes it. */
export const RESTORED_MARKER = 'restored-from-backup.json';

/** Written by the restore first and removed last: a folder that still has it holds a restore that did not finish, which `npm start` refuses. */
export const RESTORING_MARKER = 'restore-unfinished.json';

export interface BackupPart {
  /**
   * Embedded: temporal.sqlite (the dev server's database) and pglite.tar.gz (Fanzha's database, PGlite's
   * own dump). Cluster: CLUSTER_PARTS (backup/cluster.ts), pg_dump's custom format, one per database.
   */
  name: string;
  bytes: number;
  sha256: string;
}

export interface BackupManifest {
  format: typeof FORMAT;
  /** What was backed up: the embedded system (`npm start`; absent in files made before clusters were) or a cluster's three PostgreSQL databases. */
  mode?: 'embedded' | 'cluster';
  /** When the snapshot was taken (ISO 8601, UTC): decisions after it are not in the backup. */
  takenAt: string;
  /** postgres: the server's (Fanzha's database's); pgDump: the pg_dump that wrote a cluster's parts. */
  versions: { fanzha: string; node: string; pglite?: string; postgres: string; pgDump?: string };
  /** A cluster's databases as they were named when backed up, by part. */
  databases?: Record<string, string>;
  /** Fanzha's schema: how many migrations the database had applied. */
  migrations: number;
  /**
   * The public id of the audit archive's key (archiveKeyId): the restore checks the key it is given
   * against it. null: a cluster backed up without FANZHA_AUDIT_KEY (its processes hold the key).
   */
  auditKeyId: string | null;
  /** The archiver schedule was paused while the snapshot was taken (so archive and Temporal agree). */
  archiverPaused: boolean;
  parts: BackupPart[];
}

export class BackupFileError extends Error {}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Fanzha's package.json: the version (and the PGlite version) a manifest records. */
export const fanzhaPackage = () =>
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
    dependencies: Record<string, string>;
  };

/** Refuses a backup whose database has more migrations applied than this version of Fanzha knows. */
export function expectKnownMigrations(manifest: BackupManifest): void {
  const known = (
    JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }
  ).entries.length;
  if (manifest.migrations > known)
    throw new BackupFileError(
      `the backup's Fanzha database has ${manifest.migrations} migrations applied, this version of Fanzha knows ${known}: restore with the version that made it (${manifest.versions.fanzha}) or a newer one`,
    );
}

/** The manifest's list of parts: each file's name, size and SHA-256, in the order given (the file's order). */
export const describeParts = (files: [name: string, file: string][]): Promise<BackupPart[]> =>
  Promise.all(
    files.map(async ([name, file]) => ({ name, bytes: statSync(file).size, sha256: await sha256OfFile(file) })),
  );

/** Writes the encrypted backup of `parts` (files on disk, named as in the manifest) to `to`, mode 0600. */
export async function writeBackupFile(
  to: string,
  key: Buffer,
  manifest: BackupManifest,
  partFiles: Record<string, string>,
): Promise<void> {
  const iv = randomBytes(12);
  const header = Buffer.concat([MAGIC, Buffer.from([FORMAT]), iv]);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(header);
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(manifestBytes.length);
  async function* plaintext() {
    yield length;
    yield manifestBytes;
    for (const part of manifest.parts) for await (const chunk of createReadStream(partFiles[part.name]!)) yield chunk;
  }
  const out = createWriteStream(to, { mode: 0o600, flags: 'wx' });
  out.write(header);
  await pipeline(plaintext, cipher, out, { end: false });
  out.end(cipher.getAuthTag());
  await new Promise<void>((resolve, reject) => out.on('finish', resolve).on('error', reject));
}

/**
 * writeBackupFile to `target` (which must not exist), written beside it and linked into place: a
 * backup file is whole or absent, and never replaces another.
 */
function syncPath(file: string, flags: 'r' | 'r+') {
  const fd = openSync(file, flags);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export async function placeBackupFile(
  target: string,
  key: Buffer,
  manifest: BackupManifest,
  partFiles: Record<string, string>,
): Promise<void> {
  const partial = `${target}.partial`;
  try {
    await writeBackupFile(partial, key, manifest, partFiles);
    // On disk before it gets its name, and the name on disk before it counts: after a power cut a
    // backup file is whole or absent, never a truncated one that pruning keeps in place of a good one.
    syncPath(partial, 'r+');
    linkSync(partial, target);
    rmSync(partial);
    syncPath(path.dirname(target), 'r');
  } catch (error) {
    // Another backup's partial file of the same name is that backup's own.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || existsSync(target)) rmSync(partial, { force: true });
    throw error;
  }
}

/**
 * Decrypts `file` into `plainFile` (mode 0600) and checks the GCM tag: a wrong key or a changed byte
 * throws BackupFileError. Nothing of a file that fails is to be used.
 */
export async function decryptBackupFile(file: string, key: Buffer, plainFile: string): Promise<void> {
  const size = statSync(file).size;
  if (size < HEADER_BYTES + TAG_BYTES + 4) throw new BackupFileError(`${file} is too short to be a Fanzha backup`);
  const fd = openSync(file, 'r');
  const header = Buffer.alloc(HEADER_BYTES);
  const tag = Buffer.alloc(TAG_BYTES);
  try {
    readSync(fd, header, 0, HEADER_BYTES, 0);
    readSync(fd, tag, 0, TAG_BYTES, size - TAG_BYTES);
  } finally {
    closeSync(fd);
  }
  if (!header.subarray(0, MAGIC.length).equals(MAGIC))
    throw new BackupFileError(`${file} is not a Fanzha backup (no FZBACKUP header)`);
  if (header[MAGIC.length] !== FORMAT)
    throw new BackupFileError(`${file} is a backup of format ${header[MAGIC.length]}; this version reads ${FORMAT}`);
  const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(MAGIC.length + 1));
  decipher.setAAD(header);
  decipher.setAuthTag(tag);
  try {
    await pipeline(
      createReadStream(file, { start: HEADER_BYTES, end: size - TAG_BYTES - 1 }),
      decipher,
      createWriteStream(plainFile, { mode: 0o600 }),
    );
  } catch (error) {
    if (/authenticate/.test((error as Error).message))
      throw new BackupFileError(
        `${file} failed its integrity check (AES-256-GCM): it was changed or damaged since it was written, or FANZHA_BACKUP_KEY is not the key it was made with. Nothing was restored.`,
      );
    throw error;
  }
}

/** The manifest at the head of a decrypted backup, and where its parts begin. */
export function readManifest(plainFile: string): { manifest: BackupManifest; partsOffset: number } {
  const fd = openSync(plainFile, 'r');
  try {
    const length = Buffer.alloc(4);
    readSync(fd, length, 0, 4, 0);
    const bytes = Buffer.alloc(length.readUInt32BE());
    readSync(fd, bytes, 0, bytes.length, 4);
    return { manifest: JSON.parse(bytes.toString('utf8')) as BackupManifest, partsOffset: 4 + bytes.length };
  } finally {
    closeSync(fd);
  }
}

/** Copies each part out of the decrypted backup to `destinations[name]`, checking its size and SHA-256 against the manifest. */
export async function extractParts(plainFile: string, destinations: Record<string, string>): Promise<BackupManifest> {
  const { manifest, partsOffset } = readManifest(plainFile);
  let offset = partsOffset;
  for (const part of manifest.parts) {
    const to = destinations[part.name];
    if (!to) throw new BackupFileError(`the backup holds an unknown part "${part.name}"`);
    const hash = createHash('sha256');
    await pipeline(
      createReadStream(plainFile, { start: offset, end: offset + part.bytes - 1 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          hash.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(to, { mode: 0o600 }),
    );
    if (hash.digest('hex') !== part.sha256)
      throw new BackupFileError(`the part ${part.name} does not match the SHA-256 its manifest records`);
    offset += part.bytes;
  }
  if (offset !== statSync(plainFile).size)
    throw new BackupFileError('the backup holds more or less than its manifest lists');
  return manifest;
}
