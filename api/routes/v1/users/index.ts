import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { IdempotencyHeaders, ListQuery, page } from '#api/schemas/common.js';
import { NewUserSchema, StaffSchema, UserSchema } from '#api/schemas/users.js';

const users: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.administer, idempotent: true },
      schema: {
        operationId: 'createUser',
        tags: ['users'],
        summary: 'Create a user with their roles (and station); give them a token or an enrollment link next',
        headers: IdempotencyHeaders,
        body: NewUserSchema,
        response: { 201: UserSchema },
      },
    },
    async (request, reply) => reply.status(201).send(await app.services.users.create(request.user, request.body)),
  );

  app.get(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'listUsers',
        tags: ['users'],
        summary: 'The staff with their roles, status and tokens',
        querystring: Type.Object(ListQuery, { additionalProperties: false }),
        response: { 200: page(StaffSchema) },
      },
    },
    async (request) => app.services.users.staff(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default users;
