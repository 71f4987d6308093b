/**
 * One system per data folder. PGlite (and the dev server's SQLite) take no lock of their own, and two
 * processes writing one PGlite directory corrupt it; so whoever opens the embedded data folder —
 * `npm start`, `npm run admin`, `npm run audit` — first holds `<dataDir>/fanzha.lock`, a file naming
 * its pid (and the pids of the processes it runs). A lock whose processes are all dead is stale and
 * is taken over.
 */
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { alive } from './supervise.js';

export const LOCK_FILE = 'fanzha.lock';

export interface LockHolder {
  /** The process that took the lock. */
  pid: number;
  /** What it is, for the message a refused start prints (`npm start`, `npm run admin` …). */
  holder: string;
  since: string;
  /** Processes it runs on the data folder (the application process of `npm start`): the lock is held while any lives. */
  children?: number[];
}

export class DataDirLocked extends Error {
  constructor(
    readonly file: string,
    readonly held: LockHolder,
  ) {
    super(
      `The data folder ${path.dirname(file)} is in use by ${held.holder} (pid ${held.pid}, since ${held.since}). ` +
        'Its embedded database serves one system at a time: stop that one first (Ctrl-C in its terminal), ' +
        `or choose another folder with FANZHA_DATA_DIR. If no such process runs, delete ${file}.`,
    );
  }
}

export interface DataDirLock {
  file: string;
  /** Records the processes this holder runs on the folder (replacing the earlier list). */
  setChildren(pids: number[]): void;
  /** Gives the lock up (also done on exit). */
  release(): void;
}

function read(file: string): LockHolder | null {
  try {
    const held = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return Number.isInteger(held.pid) && held.pid > 0 ? held : null;
  } catch {
    return null;
  }
}

const live = (held: LockHolder) =>
  [held.pid, ...(held.children ?? [])].some((pid) => pid !== process.pid && alive(pid));

/** Who holds the data folder now, or null when nobody living does. */
export function dataDirHolder(dataDir: string): LockHolder | null {
  const held = read(path.join(dataDir, LOCK_FILE));
  return held && live(held) ? held : null;
}

/** Takes the data folder's lock, or throws DataDirLocked naming the process that holds it. */
export function lockDataDir(dataDir: string, holder: string, log: (line: string) => void = () => {}): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, holder, since: new Date().toISOString() };
  // Written whole to a private file first, then linked into place: link fails if the lock exists, so
  // two starting at once cannot both win, and nobody ever reads a half-written lock.
  const write = (to: string) => writeFileSync(to, `${JSON.stringify(mine)}\n`);
  const draft = `${file}.${process.pid}`;
  write(draft);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      const held = read(file);
      if (held && live(held)) throw new DataDirLocked(file, held);
      log(
        held
          ? `taking over the lock of ${held.holder} (pid ${held.pid}), which is no longer running`
          : `replacing an unreadable lock file ${file}`,
      );
      // Someone else may have taken it over meanwhile: remove only the lock just judged stale.
      if (read(file)?.pid === held?.pid) rmSync(file, { force: true });
    }
  } finally {
    rmSync(draft, { force: true });
  }
  const release = () => {
    if (read(file)?.pid === process.pid) rmSync(file, { force: true });
    process.off('exit', release);
  };
  process.on('exit', release);
  return {
    file,
    setChildren(pids) {
      mine.children = pids;
      // Our own lock: replaced in one step, never absent.
      write(draft);
      renameSync(draft, file);
    },
    release,
  };
}

/**
 * For the command-line tools: hold the data folder while they use its embedded database, or exit 2
 * with the reason when a running system holds it. Nothing to hold against PostgreSQL (DATABASE_URL).
 */
export function lockEmbeddedDatabaseOrExit(config: { databaseUrl: string | null; dataDir: string }, holder: string) {
  if (config.databaseUrl) return null;
  try {
    return lockDataDir(config.dataDir, holder);
  } catch (error) {
    if (!(error instanceof DataDirLocked)) throw error;
    console.error(`Refusing to open the embedded database: ${error.message}`);
    process.exit(2);
  }
}
