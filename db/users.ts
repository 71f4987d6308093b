/** Users and their API tokens. A token is shown once; only its SHA-256 is stored. */
import { createHash, randomBytes } from 'node:crypto';
import { and, asc, desc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Role } from '#domain/roles.js';
import type { Database } from './client.js';
import { adminLog, apiTokens, notifications, passwords, sessions, users } from './schema.js';

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

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** The channel on which every change to who a token stands for is announced (API processes cache tokens). */
export const AUTH_CHANGES_CHANNEL = 'fanzha_auth';

/**
 * Announces, in the transaction that makes it, a change to what a token stands for (a token revoked
 * or reassigned, a user changed, disabled or enabled): PostgreSQL delivers it to every listener when
 * the transaction commits, and never if it rolls back.
 */
interface AuthChange {
  userId: string;
  action: string;
}
async function announceAuthChange(tx: Tx, change: AuthChange) {
  await tx.execute(sql`select pg_notify(${AUTH_CHANGES_CHANNEL}, ${JSON.stringify(change)})`);
}

export const ADMIN_ACTIONS = [
  'user_created',
  'user_changed',
  'user_disabled',
  'user_enabled',
  'token_issued',
  'token_revoked',
  'enrollment_issued',
  'password_reset',
] as const;
export type AdminAction = (typeof ADMIN_ACTIONS)[number];

/** Who did a privileged act: an admin's user ID, `(bootstrap)` for FANZHA_ADMIN_TOKEN, `(command line)` for `npm run admin`. */
export type ActingAdmin = string;
export const BOOTSTRAP: ActingAdmin = '(bootstrap)';
export const COMMAND_LINE: ActingAdmin = '(command line)';

/** Roles that decide stop-payments, freezes and releases: whoever grants one is reported to the center head. */
const APPROVING: readonly Role[] = ['approver', 'senior_approver'];

/**
 * Acts the center head is told of: a credential made for someone else (an admin could use it to act as
 * them) or an approving role granted. The bootstrap token is the deployment's own, not an admin's act.
 */
function worthTellingTheHead(act: AdminAct): string | null {
  const credential =
    act.action === 'token_issued' || act.action === 'enrollment_issued' || act.action === 'password_reset';
  if (credential && act.by !== act.target && act.by !== BOOTSTRAP) return `${act.by} ${act.action} for ${act.target}`;
  const granted = APPROVING.filter((role) => act.grantedRoles?.includes(role));
  if (granted.length > 0) return `${act.by} granted ${granted.join(', ')} to ${act.target}`;
  return null;
}

interface AdminAct {
  by: ActingAdmin;
  action: AdminAction;
  target: string;
  detail?: Record<string, unknown>;
  /** Roles the target holds now and did not before (creation: all of them). */
  grantedRoles?: readonly Role[];
}

/**
 * One privileged act on the append-only admin log, in the transaction that does it; the center head's
 * notification (center_head: the one above the supervisors, DESIGN.md §4) goes in the same transaction,
 * so neither exists without the other.
 */
export async function logAdminAct(tx: Tx | Database, act: AdminAct) {
  const [logged] = await tx
    .insert(adminLog)
    .values({ actorUserId: act.by, action: act.action, targetUserId: act.target, detail: act.detail ?? {} })
    .returning({ id: adminLog.id });
  const message = worthTellingTheHead(act);
  if (!message) return;
  await tx.insert(notifications).values({
    dedupeKey: `admin-log:${logged!.id}:center_head`,
    recipientRole: 'center_head',
    kind: 'privileged_act',
    caseType: 'user',
    caseId: act.target,
    // Not a workflow's: the admin log row it reports.
    workflowId: `admin-log-${logged!.id}`,
    message,
    payload: {
      adminLogId: logged!.id,
      action: act.action,
      by: act.by,
      target: act.target,
      roles: act.grantedRoles ?? [],
    },
  });
}

/**
 * `authChanged` is told after each committed change to what a token stands for, in this process,
 * before the change is answered: this process's token cache never waits for its own announcement.
 */
export function createUserStore(db: Database, hooks: { authChanged?: () => void } = {}) {
  /** Runs `change` in a transaction that announces an auth change; tells `authChanged` once it committed. */
  const changingAuth = async <T>(change: (tx: Tx, announce: (what: AuthChange) => Promise<void>) => Promise<T>) => {
    let announced = false;
    const result = await db.transaction((tx) =>
      change(tx, async (what) => {
        announced = true;
        await announceAuthChange(tx, what);
      }),
    );
    if (announced) hooks.authChanged?.();
    return result;
  };
  return {
    /** With `by`, the creation is on the admin log (test fixtures create users without). */
    async create(
      input: { name: string; roles: Role[]; stationId?: string | null; userId?: string },
      by?: ActingAdmin,
    ): Promise<User> {
      return db.transaction(async (tx) => {
        const [row] = await tx
          .insert(users)
          .values({
            userId: input.userId ?? randomId('u_'),
            name: input.name,
            roles: [...new Set(input.roles)],
            stationId: input.stationId ?? null,
          })
          .returning();
        const user = toUser(row!);
        if (by)
          await logAdminAct(tx, {
            by,
            action: 'user_created',
            target: user.userId,
            grantedRoles: user.roles,
            detail: { name: user.name, roles: user.roles, stationId: user.stationId },
          });
        return user;
      });
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
      by: ActingAdmin,
    ): Promise<User | null> {
      return changingAuth(async (tx, announce) => {
        const [before] = await tx.select().from(users).where(eq(users.userId, userId));
        const set: Partial<typeof users.$inferInsert> = {};
        if (change.name !== undefined) set.name = change.name;
        if (change.roles !== undefined) set.roles = [...new Set(change.roles)];
        if (change.stationId !== undefined) set.stationId = change.stationId;
        if (change.disabledBy !== undefined) {
          set.disabledBy = change.disabledBy;
          set.disabledAt = change.disabledBy === null ? null : new Date();
        }
        const [row] = await tx.update(users).set(set).where(eq(users.userId, userId)).returning();
        if (row) await announce({ userId, action: 'user_changed' });
        if (row && change.disabledBy)
          await tx
            .update(sessions)
            .set({ endedAt: new Date() })
            .where(and(eq(sessions.userId, userId), isNull(sessions.endedAt)));
        if (row && before) {
          const facts = (u: typeof row) => ({ name: u.name, roles: u.roles, stationId: u.stationId });
          const action: AdminAction =
            change.disabledBy === undefined ? 'user_changed' : change.disabledBy ? 'user_disabled' : 'user_enabled';
          const granted = (row.roles as Role[]).filter((role) => !(before.roles as Role[]).includes(role));
          await logAdminAct(tx, {
            by,
            action,
            target: userId,
            detail: { before: facts(before), after: facts(row) },
            grantedRoles: granted,
          });
        }
        return row ? toUser(row) : null;
      });
    },

    /** A new token, shown once; with `by`, on the admin log (test fixtures issue tokens without). */
    async issueToken(
      userId: string,
      label: string | null,
      by?: ActingAdmin,
      token = `fz_${randomBytes(32).toString('base64url')}`,
    ) {
      const tokenId = randomId('tok_');
      await db.transaction(async (tx) => {
        await tx
          .insert(apiTokens)
          .values({ tokenId, userId, label, tokenHash: hashToken(token), issuedBy: by ?? null });
        if (by) await logAdminAct(tx, { by, action: 'token_issued', target: userId, detail: { tokenId, label } });
      });
      return { tokenId, token };
    },

    /** A user's tokens, newest first, never their values. */
    async tokens(userId: string) {
      const rows = await db
        .select({
          tokenId: apiTokens.tokenId,
          label: apiTokens.label,
          createdAt: apiTokens.createdAt,
          revokedAt: apiTokens.revokedAt,
          issuedBy: apiTokens.issuedBy,
        })
        .from(apiTokens)
        .where(eq(apiTokens.userId, userId))
        .orderBy(desc(apiTokens.createdAt));
      return rows.map((t) => ({
        ...t,
        createdAt: t.createdAt.toISOString(),
        revokedAt: t.revokedAt?.toISOString() ?? null,
      }));
    },

    /** true when a live token was revoked now. */
    async revokeToken(userId: string, tokenId: string, by: ActingAdmin): Promise<boolean> {
      return changingAuth(async (tx, announce) => {
        const revoked = await tx
          .update(apiTokens)
          .set({ revokedAt: new Date() })
          .where(and(eq(apiTokens.userId, userId), eq(apiTokens.tokenId, tokenId), isNull(apiTokens.revokedAt)))
          .returning({ tokenId: apiTokens.tokenId });
        if (revoked.length === 1) {
          await logAdminAct(tx, { by, action: 'token_revoked', target: userId, detail: { tokenId } });
          await announce({ userId, action: 'token_revoked' });
        }
        return revoked.length === 1;
      });
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
      await changingAuth(async (tx, announce) => {
        await tx
          .insert(users)
          .values({ userId: 'admin', name: 'admin', roles: ['admin'] })
          .onConflictDoUpdate({ target: users.userId, set: { roles: ['admin'] } });
        // Start-up only: admin's roles may have been reset, and the bootstrap token may move below.
        await announce({ userId: 'admin', action: 'bootstrap' });
        const hash = hashToken(token);
        const [existing] = await tx.select().from(apiTokens).where(eq(apiTokens.tokenHash, hash));
        // The same token as before: live, it stays; revoked, it stays revoked (only a new FANZHA_ADMIN_TOKEN brings one back).
        if (existing && existing.userId === 'admin') return;
        if (existing) await tx.delete(apiTokens).where(eq(apiTokens.tokenId, existing.tokenId));
        const bootstrap = { tokenHash: hash, revokedAt: null, issuedBy: BOOTSTRAP, createdAt: new Date() };
        await tx
          .insert(apiTokens)
          .values({ tokenId: 'tok_bootstrap', userId: 'admin', label: 'FANZHA_ADMIN_TOKEN', ...bootstrap })
          .onConflictDoUpdate({ target: apiTokens.tokenId, set: bootstrap });
        await logAdminAct(tx, {
          by: BOOTSTRAP,
          action: 'token_issued',
          target: 'admin',
          detail: { tokenId: 'tok_bootstrap' },
        });
      });
    },
  };
}

export type UserStore = ReturnType<typeof createUserStore>;
