/** Staff and their tokens, as an admin manages them. */
import type { User, UserStore } from '#db/users.js';
import { invalidField, notFound } from '#domain/refusal.js';
import { MAY, type Role } from '#domain/roles.js';
import { decodeCursor, encodeCursor } from './cursor.js';
import { requireRole } from './decisions.js';

const isUserCursor = (v: unknown): v is string => typeof v === 'string';

export function createUserService({ users }: { users: UserStore }) {
  return {
    /** A station officer belongs to one station; nobody else has one. */
    async create(admin: User, input: { userId?: string; name: string; roles: Role[]; stationId?: string }) {
      requireRole(admin, MAY.administer);
      const { name, roles, stationId } = input;
      if (roles.includes('station') && !stationId)
        throw invalidField('/stationId', 'is required for a user with the station role');
      if (stationId && !roles.includes('station'))
        throw invalidField('/stationId', 'is only for users with the station role');
      if (input.userId && (await users.get(input.userId))) throw invalidField('/userId', 'is taken by another user');
      return users.create({ userId: input.userId, name, roles, stationId: stationId ?? null });
    },

    async list(admin: User, filters: { limit: number; cursor?: string }) {
      requireRole(admin, MAY.administer);
      const rows = await users.list(filters.limit + 1, decodeCursor(filters.cursor, isUserCursor));
      const items = rows.slice(0, filters.limit);
      return { items, nextCursor: rows.length > filters.limit ? encodeCursor(items[items.length - 1]!.userId) : null };
    },

    async issueToken(admin: User, userId: string, label: string | null) {
      requireRole(admin, MAY.administer);
      const user = await users.get(userId);
      if (!user) throw notFound(`User ${userId}`);
      return users.issueToken(user.userId, label);
    },

    /** Revoking twice is fine (DELETE is idempotent); an unknown token is not. */
    async revokeToken(admin: User, userId: string, tokenId: string): Promise<void> {
      requireRole(admin, MAY.administer);
      const revoked = await users.revokeToken(userId, tokenId);
      if (!revoked && !(await users.tokenExists(userId, tokenId))) throw notFound(`Token ${tokenId} of user ${userId}`);
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
