import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { authProblems, IdempotencyHeaders, ListQuery, page } from '#api/schemas/common.js';
import { NewUserSchema, StaffSchema, UserSchema } from '#api/schemas/users.js';

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.administer, idempotent: true },
      schema: {
        tags: ['users'],
        headers: IdempotencyHeaders,
        body: NewUserSchema,
        response: { 201: UserSchema, ...authProblems },
      },
    },
    async (request, reply) => reply.status(201).send(await app.services.users.create(request.user, request.body)),
  );

  app.get(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        tags: ['users'],
        querystring: Type.Object(ListQuery, { additionalProperties: false }),
        response: { 200: page(StaffSchema), ...authProblems },
      },
    },
    async (request) => app.services.users.staff(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default users;
