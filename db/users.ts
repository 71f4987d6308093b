/** Users and their API tokens. A token is shown once; only its SHA-256 is stored. */
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, eq, gt, inArray, isNull } from 'drizzle-orm';
import type { Role } from '#domain/roles.js';
import type { Database } from './client.js';
import { apiTokens, passwords, sessions, users } from './schema.js';

export interface User {
  userId: string;
  name: string;
  roles: Role[];
  stationId: string | null;
}

export const hashToken = (token: string) => createHash('sha256').update(token).digest('hex');
const randomId = (prefix: string, bytes = 9) => `${prefix}${randomBytes(bytes).toString('base64url')}`;

/** A user as an admin sees them. */
export interface StaffMember extends User {
  disabledAt: string | null;
  disabledBy: string | null;
  passwordSetAt: string | null;
  tokens: { tokenId: string; label: string | null; createdAt: string; revokedAt: string | null }[];
}

const toUser = (row: typeof users.$inferSelect): User => ({
  userId: row.userId,
  name: row.name,
  roles: row.roles as Role[],
  stationId: row.stationId,
});

export function createUserStore(db: Database) {
  return {
    async create(input: { name: string; roles: Role[]; stationId?: string | null; userId?: string }): Promise<User> {
      const [row] = await db
        .insert(users)
        .values({
          userId: input.userId ?? randomId('u_'),
          name: input.name,
          roles: [...new Set(input.roles)],
          stationId: input.stationId ?? null,
        })
        .returning();
      return toUser(row!);
    },

    async get(userId: string): Promise<User | null> {
      const [row] = await db.select().from(users).where(eq(users.userId, userId));
      return row ? toUser(row) : null;
    },

    /** The user unless disabled: what every sign-in and every request checks. */
    async getActive(userId: string): Promise<User | null> {
      const [row] = await db
        .select()
        .from(users)
        .where(and(eq(users.userId, userId), isNull(users.disabledAt)));
      return row ? toUser(row) : null;
    },

    /** Staff as an admin manages them, a keyset page ordered by userId: with whether they are disabled, have a password, and their tokens. */
    async staff(limit: number, after?: string): Promise<StaffMember[]> {
      const rows = await db
        .select({ user: users, passwordSetAt: passwords.setAt })
        .from(users)
        .leftJoin(passwords, eq(passwords.userId, users.userId))
        .where(after ? gt(users.userId, after) : undefined)
        .orderBy(asc(users.userId))
        .limit(limit);
      const tokens = rows.length
        ? await db
            .select()
            .from(apiTokens)
            .where(
              inArray(
                apiTokens.userId,
                rows.map((r) => r.user.userId),
              ),
            )
            .orderBy(asc(apiTokens.createdAt))
        : [];
      return rows.map(({ user, passwordSetAt }) => ({
        ...toUser(user),
        disabledAt: user.disabledAt?.toISOString() ?? null,
        disabledBy: user.disabledBy,
        passwordSetAt: passwordSetAt?.toISOString() ?? null,
        tokens: tokens
          .filter((t) => t.userId === user.userId)
          .map((t) => ({
            tokenId: t.tokenId,
            label: t.label,
            createdAt: t.createdAt.toISOString(),
            revokedAt: t.revokedAt?.toISOString() ?? null,
          })),
      }));
    },

    /** Name, roles, station; and disabling (which ends every session of the user at once) or enabling again. */
    async update(
      userId: string,
      change: { name?: string; roles?: Role[]; stationId?: string | null; disabledBy?: string | null },
    ): Promise<User | null> {
      return db.transaction(async (tx) => {
        const set: Partial<typeof users.$inferInsert> = {};
        if (change.name !== undefined) set.name = change.name;
        if (change.roles !== undefined) set.roles = [...new Set(change.roles)];
        if (change.stationId !== undefined) set.stationId = change.stationId;
        if (change.disabledBy !== undefined) {
          set.disabledBy = change.disabledBy;
          set.disabledAt = change.disabledBy === null ? null : new Date();
        }
        const [row] = await tx.update(users).set(set).where(eq(users.userId, userId)).returning();
        if (row && change.disabledBy)
          await tx
            .update(sessions)
            .set({ endedAt: new Date() })
            .where(and(eq(sessions.userId, userId), isNull(sessions.endedAt)));
        return row ? toUser(row) : null;
      });
    },

    async issueToken(userId: string, label: string | null, token = `fz_${randomBytes(32).toString('base64url')}`) {
      const tokenId = randomId('tok_');
      await db.insert(apiTokens).values({ tokenId, userId, label, tokenHash: hashToken(token) });
      return { tokenId, token };
    },

    /** true when a live token was revoked now. */
    async revokeToken(userId: string, tokenId: string): Promise<boolean> {
      const revoked = await db
        .update(apiTokens)
        .set({ revokedAt: new Date() })
        .where(and(eq(apiTokens.userId, userId), eq(apiTokens.tokenId, tokenId), isNull(apiTokens.revokedAt)))
        .returning({ tokenId: apiTokens.tokenId });
      return revoked.length === 1;
    },

    async tokenExists(userId: string, tokenId: string): Promise<boolean> {
      const rows = await db
        .select({ tokenId: apiTokens.tokenId })
        .from(apiTokens)
        .where(and(eq(apiTokens.userId, userId), eq(apiTokens.tokenId, tokenId)));
      return rows.length === 1;
    },

    async findByToken(token: string): Promise<User | null> {
      const [row] = await db
        .select({ user: users })
        .from(apiTokens)
        .innerJoin(users, eq(users.userId, apiTokens.userId))
        .where(and(eq(apiTokens.tokenHash, hashToken(token)), isNull(apiTokens.revokedAt), isNull(users.disabledAt)));
      return row ? toUser(row.user) : null;
    },

    /** FANZHA_ADMIN_TOKEN bootstrap: user `admin` with role admin holds exactly this token afterwards. */
    async ensureAdmin(token: string): Promise<void> {
      await db.transaction(async (tx) => {
        await tx
          .insert(users)
          .values({ userId: 'admin', name: 'admin', roles: ['admin'] })
          .onConflictDoUpdate({ target: users.userId, set: { roles: ['admin'] } });
        const hash = hashToken(token);
        const [existing] = await tx.select().from(apiTokens).where(eq(apiTokens.tokenHash, hash));
        if (existing && existing.userId === 'admin' && existing.revokedAt === null) return;
        if (existing) await tx.delete(apiTokens).where(eq(apiTokens.tokenId, existing.tokenId));
        await tx
          .insert(apiTokens)
          .values({ tokenId: 'tok_bootstrap', userId: 'admin', label: 'FANZHA_ADMIN_TOKEN', tokenHash: hash })
          .onConflictDoUpdate({ target: apiTokens.tokenId, set: { tokenHash: hash, revokedAt: null } });
      });
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
