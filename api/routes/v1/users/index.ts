import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authProblems, decodeCursor, encodeCursor, IdempotencyHeaders, ListQuery, page } from '../../../schemas/common.js';
import { NewUserSchema, UserSchema } from '../../../schemas/users.js';
import { invalidField } from '../../../problem.js';

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: ['admin'], idempotent: true },
      schema: { tags: ['users'], headers: IdempotencyHeaders, body: NewUserSchema, response: { 201: UserSchema, ...authProblems } },
    },
    async (request, reply) => {
      const { name, roles, stationId } = request.body;
      if (roles.includes('station') && !stationId)
        throw invalidField('/stationId', 'is required for a user with the station role');
      if (stationId && !roles.includes('station'))
        throw invalidField('/stationId', 'is only for users with the station role');
      const user = await app.users.create({ name, roles, stationId: stationId ?? null });
      return reply.status(201).send(user);
    },
  );

  app.get(
    '',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['users'], querystring: Type.Object(ListQuery, { additionalProperties: false }), response: { 200: page(UserSchema), ...authProblems } },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const after = decodeCursor(request.query.cursor, (v): v is string => typeof v === 'string');
      const rows = await app.users.list(limit + 1, after);
      const items = rows.slice(0, limit);
      return { items, nextCursor: rows.length > limit ? encodeCursor(items[items.length - 1]!.userId) : null };
    },
  );
};

export default users;
