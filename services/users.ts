/** Staff and their tokens, as an admin manages them. */
import type { User, UserStore } from '#db/users.js';
import { invalidField, notFound, Refusal } from '#domain/refusal.js';
import { MAY, type Role } from '#domain/roles.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { requireRole } from './decisions.js';
import { clientId, requiredText } from './fields.js';

const isUserCursor = (v: unknown): v is string => typeof v === 'string';

/** A station officer belongs to one station; nobody else has one. */
function checkStation(roles: readonly Role[], stationId: string | null | undefined) {
  if (roles.includes('station') && !stationId)
    throw invalidField('/stationId', 'is required for a user with the station role');
  if (stationId && !roles.includes('station'))
    throw invalidField('/stationId', 'is only for users with the station role');
}

/** The admin manages people, and does no casework: no one admin may create a case and decide it alone. */
const OPERATIONAL: readonly Role[] = ['operator', 'calltaker', 'approver', 'senior_approver'];
function checkSeparation(roles: readonly Role[]) {
  if (roles.includes('admin') && roles.some((role) => OPERATIONAL.includes(role)))
    throw invalidField('/roles', `admin may not be held with ${OPERATIONAL.join(', ')}`);
}

export interface UserChange {
  name?: string;
  roles?: Role[];
  stationId?: string | null;
  /** true disables the user (every session ends at once, tokens and password stop working); false enables them. */
  disabled?: boolean;
}

export function createUserService({ users }: { users: UserStore }) {
  return {
    async create(admin: User, input: { userId?: string; name: string; roles: Role[]; stationId?: string }) {
      requireRole(admin, MAY.administer);
      const { name, roles, stationId } = input;
      checkStation(roles, stationId);
      checkSeparation(roles);
      if (input.userId && (await users.get(input.userId))) throw invalidField('/userId', 'is taken by another user');
      return users.create({ userId: input.userId, name, roles, stationId: stationId ?? null }, admin.userId);
    },

    /** Changes a user's name, roles or station, or disables (or enables) them; an admin cannot disable themselves. */
    async update(admin: User, userId: string, change: UserChange) {
      requireRole(admin, MAY.administer);
      const user = await users.get(userId);
      if (!user) throw notFound(`User ${userId}`);
      if (change.disabled && userId === admin.userId)
        throw new Refusal('invalid_transition', 'An admin cannot disable themselves; ask another admin.');
      if (change.name !== undefined) requiredText(change.name, '/name', 100);
      if (change.roles !== undefined && change.roles.length === 0)
        throw invalidField('/roles', 'must name at least one role');
      const roles = change.roles ?? user.roles;
      const stationId =
        change.stationId !== undefined ? change.stationId : roles.includes('station') ? user.stationId : null;
      checkStation(roles, stationId);
      if (stationId) clientId(stationId, '/stationId');
      checkSeparation(roles);
      return (await users.update(
        userId,
        {
          name: change.name,
          roles: change.roles,
          stationId: stationId !== user.stationId ? stationId : undefined,
          disabledBy: change.disabled === undefined ? undefined : change.disabled ? admin.userId : null,
        },
        admin.userId,
      ))!;
    },

    /** Staff with their tokens, password and whether disabled, for the admin's page. */
    async staff(admin: User, filters: { limit: number; cursor?: string }) {
      requireRole(admin, MAY.administer);
      const rows = await users.staff(filters.limit + 1, decodeCursor(filters.cursor, isUserCursor));
      const items = rows.slice(0, filters.limit);
      return { items, nextCursor: rows.length > filters.limit ? encodeCursor(items[items.length - 1]!.userId) : null };
    },

    async issueToken(admin: User, userId: string, label: string | null) {
      requireRole(admin, MAY.administer);
      const user = await users.get(userId);
      if (!user) throw notFound(`User ${userId}`);
      return users.issueToken(user.userId, label, admin.userId);
    },

    /** A user's tokens, newest first: who issued each, when, whether revoked — never a token's value. */
    async tokens(admin: User, userId: string) {
      requireRole(admin, MAY.administer);
      if (!(await users.get(userId))) throw notFound(`User ${userId}`);
      return { items: await users.tokens(userId) };
    },

    /** Revoking twice is fine (DELETE is idempotent); an unknown token is not. */
    async revokeToken(admin: User, userId: string, tokenId: string): Promise<void> {
      requireRole(admin, MAY.administer);
      const revoked = await users.revokeToken(userId, tokenId, admin.userId);
      if (!revoked && !(await users.tokenExists(userId, tokenId))) throw notFound(`Token ${tokenId} of user ${userId}`);
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
