/**
 * Verified API tokens, remembered for a short while so that a request does not pay a database round
 * trip to learn who sent it. Fails closed: every change to what a token stands for is announced on
 * AUTH_CHANGES_CHANNEL in its own transaction and empties the cache; while the LISTEN that hears those
 * announcements is down (or not yet up) nothing is cached or served from the cache.
 */
import { hashToken, type User, type UserStore } from './users.js';

/** Tokens remembered at most (the least recently verified go first). */
const MAX_TOKENS = 10_000;

export function createTokenCache(options: {
  findByToken: UserStore['findByToken'];
  ttlMs: number;
  maxTokens?: number;
  now?: () => number;
}) {
  const { findByToken, ttlMs, maxTokens = MAX_TOKENS, now = Date.now } = options;
  /** By the token's SHA-256 (never the token itself): the user and until when they may be served. */
  const verified = new Map<string, { user: User; until: number }>();
  let listening = false;
  /**
   * Bumped by every announcement and every loss of the LISTEN: a lookup that was under way when
   * either happened may have read the database before the change, so its answer is not remembered.
   */
  let generation = 0;
  const forget = () => {
    generation++;
    verified.clear();
  };

  return {
    /** The active user holding `token`, or null; from memory when it was verified lately and nothing changed since. */
    async findByToken(token: string): Promise<User | null> {
      if (!listening || ttlMs === 0) return findByToken(token);
      const key = hashToken(token);
      const known = verified.get(key);
      if (known && known.until > now()) return known.user;
      const asked = generation;
      const user = await findByToken(token);
      verified.delete(key);
      if (user && listening && asked === generation) {
        verified.set(key, { user, until: now() + ttlMs });
        for (const oldest of verified.keys()) {
          if (verified.size <= maxTokens) break;
          verified.delete(oldest);
        }
      }
      return user;
    },
    /** A change was announced: whatever is remembered may be stale. */
    changed: forget,
    /** The LISTEN is in place: announcements arrive from now on, so remembering is safe again. */
    listening() {
      forget();
      listening = true;
    },
    /** The LISTEN is gone: announcements may be missed, so nothing is remembered until it is back. */
    lost() {
      listening = false;
      forget();
    },
    /** Whether the cache is in use (its LISTEN is in place), and how many tokens it holds. */
    state: () => ({ listening, tokens: verified.size }),
  };
}

export type TokenCache = ReturnType<typeof createTokenCache>;
