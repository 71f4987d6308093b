/**
 * The scheduled backups' folder (FANZHA_BACKUP_DIR): one `fanzha-<UTC time>.backup` per backup, the
 * time being when it was started, in a form whose order is the files' name order. The folder is the
 * record of the last backup — its time and size survive restarts with nothing else to keep — and
 * only files of that name are ever counted or deleted: whatever else is in the folder is left alone.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const NAME = /^fanzha-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})\.(\d{3})Z\.backup$/;

/** `fanzha-20261203T074000.123Z.backup` for 2026-12-03T07:40:00.123Z. */
export const scheduledBackupName = (at: Date) => `fanzha-${at.toISOString().replace(/[-:]/g, '')}.backup`;

export interface FolderBackup {
  file: string;
  /** When the backup was started (its name says). */
  at: Date;
  bytes: number;
}

/** The folder's backups, oldest first; none when the folder does not exist yet. */
export function scheduledBackups(dir: string): FolderBackup[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const backups: FolderBackup[] = [];
  for (const file of names.sort()) {
    const m = NAME.exec(file);
    if (!m) continue;
    try {
      const bytes = statSync(path.join(dir, file)).size;
      backups.push({ file, at: new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`), bytes });
    } catch {
      // Deleted between the listing and now: not there.
    }
  }
  return backups;
}

export const latestScheduledBackup = (dir: string): FolderBackup | null => scheduledBackups(dir).at(-1) ?? null;

/** Deletes the oldest backups beyond the newest `keep`; returns the deleted names. */
export function pruneScheduledBackups(dir: string, keep: number): string[] {
  const all = scheduledBackups(dir);
  const old = all.slice(0, Math.max(0, all.length - keep)).map((b) => b.file);
  for (const file of old) rmSync(path.join(dir, file), { force: true });
  return old;
}

/** Leftovers of scheduled backups that died while writing (`<name>.partial`) and have not been written to for `olderThanMs`. */
export function removeStalePartials(dir: string, olderThanMs: number, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const file of names) {
    if (!file.endsWith('.partial') || !NAME.test(file.slice(0, -'.partial'.length))) continue;
    try {
      if (now - statSync(path.join(dir, file)).mtimeMs < olderThanMs) continue;
      rmSync(path.join(dir, file), { force: true });
      removed.push(file);
    } catch {
      // gone already
    }
  }
  return removed;
}
