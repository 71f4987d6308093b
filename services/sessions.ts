/**
 * Signing in to the console, as staff expect it: a password each person sets through a one-time
 * enrollment link (an admin issues the link and never learns the password), sessions kept in the
 * database (every API process knows them; they outlive a restart), five failed attempts lock the
 * name or the address for 15 minutes. Machines keep their API tokens; a token can also open a
 * session ("sign in with a token", for the first admin), which ends when the token is revoked.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import { and, count, eq, gt, isNull, or, sql } from 'drizzle-orm';
import type { Database } from '#db/client.js';
import { apiTokens, enrollments, passwords, sessions, signInFailures, users } from '#db/schema.js';
import { hashToken, logAdminAct, type User, type UserStore } from '#db/users.js';
import { invalidField, notFound, Refusal } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { requireRole } from './decisions.js';

export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_ABSOLUTE_MS = 12 * 3_600_000;
export const ENROLLMENT_VALID_MS = 24 * 3_600_000;
export const LOCK_AFTER_FAILURES = 5;
export const LOCK_FOR_MS = 15 * 60_000;
export const MIN_PASSWORD_LENGTH = 12;
const MAX_PASSWORD_LENGTH = 256;
/** A session's last-seen time is written at most this often (one write per click would be waste). */
const TOUCH_EVERY_MS = 30_000;

// scrypt at N=2^15 (32 MiB, tens of milliseconds): OWASP's recommended cost for password storage.
const SCRYPT: ScryptOptions = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LENGTH = 32;

const derive = (password: string, salt: Buffer, options: ScryptOptions) =>
  new Promise<Buffer>((resolve, reject) =>
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (error, key) =>
      error ? reject(error) : resolve(key),
    ),
  );

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: SCRYPT.maxmem,
  });
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

const secret = () => randomBytes(32).toString('base64url');
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

/** A signed-in person as the console sees them. */
export interface ConsoleSession {
  user: User;
  language: string;
  /** The token the session was opened with, if any. */
  tokenId: string | null;
}

export function createSessionService({ db, users: userStore }: { db: Database; users: UserStore }) {
  const wrongCredentials = () => new Refusal('unauthenticated', 'The user name or password is wrong.');

  /** Failures in the last 15 minutes for this name and for this address: five of either lock. */
  async function lockedOut(login: string, address: string): Promise<boolean> {
    const since = new Date(Date.now() - LOCK_FOR_MS);
    const [row] = await db
      .select({
        byLogin: sql<number>`count(*) filter (where ${signInFailures.login} = ${login})`.mapWith(Number),
        byAddress: sql<number>`count(*) filter (where ${signInFailures.address} = ${address})`.mapWith(Number),
      })
      .from(signInFailures)
      .where(
        and(gt(signInFailures.at, since), or(eq(signInFailures.login, login), eq(signInFailures.address, address))),
      );
    return (row?.byLogin ?? 0) >= LOCK_AFTER_FAILURES || (row?.byAddress ?? 0) >= LOCK_AFTER_FAILURES;
  }

  async function refuseIfLocked(login: string, address: string) {
    if (await lockedOut(login, address))
      throw new Refusal('locked', 'Too many failed sign-ins: this name or this computer is locked for 15 minutes.');
  }

  async function openSession(user: User, language: string, tokenId: string | null) {
    const token = secret();
    const now = Date.now();
    await db.insert(sessions).values({
      sessionHash: sha256(token),
      userId: user.userId,
      tokenId,
      language,
      expiresAt: new Date(now + SESSION_ABSOLUTE_MS),
    });
    return { token, user };
  }

  return {
    /**
     * An admin's one-time link for `userId` to set a password; the answer holds the secret once. With
     * `resetPassword` the old password stops working at once and every session of the user ends (a
     * password that may have leaked must not wait for the link to be used).
     */
    async enroll(
      admin: User,
      userId: string,
      options: { resetPassword?: boolean } = {},
    ): Promise<{ token: string; expiresAt: Date; user: User }> {
      requireRole(admin, MAY.administer);
      const user = await userStore.get(userId);
      if (!user) throw notFound(`User ${userId}`);
      const token = secret();
      const expiresAt = new Date(Date.now() + ENROLLMENT_VALID_MS);
      await db.transaction(async (tx) => {
        await tx.insert(enrollments).values({ tokenHash: sha256(token), userId, createdBy: admin.userId, expiresAt });
        await logAdminAct(tx, {
          by: admin.userId,
          action: options.resetPassword ? 'password_reset' : 'enrollment_issued',
          target: userId,
          detail: { expiresAt: expiresAt.toISOString() },
        });
        if (!options.resetPassword) return;
        await tx.delete(passwords).where(eq(passwords.userId, userId));
        await tx
          .update(sessions)
          .set({ endedAt: new Date() })
          .where(and(eq(sessions.userId, userId), isNull(sessions.endedAt)));
      });
      return { token, expiresAt, user };
    },

    /** Whose link this is, while it is unused and fresh; null otherwise. */
    async enrollment(token: string): Promise<User | null> {
      const [row] = await db
        .select({ userId: enrollments.userId })
        .from(enrollments)
        .where(
          and(
            eq(enrollments.tokenHash, sha256(token)),
            isNull(enrollments.usedAt),
            gt(enrollments.expiresAt, new Date()),
          ),
        );
      return row ? userStore.getActive(row.userId) : null;
    },

    /** Uses the link once: sets the password and ends every session the person had. */
    async setPassword(token: string, password: string): Promise<User> {
      if (password.length < MIN_PASSWORD_LENGTH)
        throw invalidField('/password', `must be at least ${MIN_PASSWORD_LENGTH} characters`);
      if (password.length > MAX_PASSWORD_LENGTH)
        throw invalidField('/password', `must be at most ${MAX_PASSWORD_LENGTH} characters`);
      const hash = await hashPassword(password);
      const userId = await db.transaction(async (tx) => {
        const [used] = await tx
          .update(enrollments)
          .set({ usedAt: new Date() })
          .where(
            and(
              eq(enrollments.tokenHash, sha256(token)),
              isNull(enrollments.usedAt),
              gt(enrollments.expiresAt, new Date()),
            ),
          )
          .returning({ userId: enrollments.userId });
        if (!used) return null;
        await tx
          .insert(passwords)
          .values({ userId: used.userId, hash })
          .onConflictDoUpdate({ target: passwords.userId, set: { hash, setAt: new Date() } });
        await tx
          .update(sessions)
          .set({ endedAt: new Date() })
          .where(and(eq(sessions.userId, used.userId), isNull(sessions.endedAt)));
        return used.userId;
      });
      const user = userId && (await userStore.get(userId));
      if (!user)
        throw new Refusal('not_found', 'This enrollment link is unknown, used or expired: ask an admin for a new one.');
      return user;
    },

    /** Name and password; every failure counts towards the lock, and which part was wrong is never said. */
    async signIn(login: string, password: string, address: string, language: string) {
      await refuseIfLocked(login, address);
      const [row] = await db
        .select({ userId: users.userId, hash: passwords.hash })
        .from(users)
        .innerJoin(passwords, eq(passwords.userId, users.userId))
        .where(eq(users.userId, login));
      if (!row || !(await verifyPassword(password, row.hash))) {
        await db.insert(signInFailures).values({ login, address });
        throw wrongCredentials();
      }
      // A disabled user is told what anyone with a wrong password is told.
      const user = await userStore.getActive(row.userId);
      if (!user) throw wrongCredentials();
      return openSession(user, language, null);
    },

    /** An API token opens a session too (the first admin has nothing else); it counts failures by address. */
    async signInWithToken(token: string, address: string, language: string) {
      const login = '(token)';
      await refuseIfLocked(login, address);
      const [row] = await db
        .select({ tokenId: apiTokens.tokenId, userId: apiTokens.userId })
        .from(apiTokens)
        .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt)));
      const user = row && (await userStore.getActive(row.userId));
      if (!row || !user) {
        await db.insert(signInFailures).values({ login, address });
        throw new Refusal('unauthenticated', 'This token is unknown or has been revoked.');
      }
      return openSession(user, language, row.tokenId);
    },

    /** The live session behind a cookie: not ended, not idle for 30 minutes, not older than 12 hours, its token not revoked. */
    async session(token: string): Promise<ConsoleSession | null> {
      const now = Date.now();
      const [row] = await db
        .select({ session: sessions, revokedAt: apiTokens.revokedAt })
        .from(sessions)
        .leftJoin(apiTokens, eq(apiTokens.tokenId, sessions.tokenId))
        .where(
          and(
            eq(sessions.sessionHash, sha256(token)),
            isNull(sessions.endedAt),
            gt(sessions.expiresAt, new Date(now)),
            gt(sessions.lastSeenAt, new Date(now - SESSION_IDLE_MS)),
          ),
        );
      if (!row || (row.session.tokenId !== null && row.revokedAt !== null)) return null;
      const user = await userStore.getActive(row.session.userId);
      if (!user) return null;
      if (now - row.session.lastSeenAt.getTime() > TOUCH_EVERY_MS)
        await db
          .update(sessions)
          .set({ lastSeenAt: new Date(now) })
          .where(eq(sessions.sessionHash, row.session.sessionHash));
      return { user, language: row.session.language, tokenId: row.session.tokenId };
    },

    async setLanguage(token: string, language: string): Promise<void> {
      await db
        .update(sessions)
        .set({ language })
        .where(eq(sessions.sessionHash, sha256(token)));
    },

    async signOut(token: string): Promise<void> {
      await db
        .update(sessions)
        .set({ endedAt: new Date() })
        .where(eq(sessions.sessionHash, sha256(token)));
    },

    /** Failed sign-ins in the lock window, for tests and the admin's eyes. */
    async recentFailures(login: string): Promise<number> {
      const [row] = await db
        .select({ n: count() })
        .from(signInFailures)
        .where(and(eq(signInFailures.login, login), gt(signInFailures.at, new Date(Date.now() - LOCK_FOR_MS))));
      return row?.n ?? 0;
    },
  };
}

export type SessionService = ReturnType<typeof createSessionService>;
