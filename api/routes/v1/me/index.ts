import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authProblems } from '#api/schemas/common.js';
import { UserSchema } from '#api/schemas/users.js';

const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    { config: { roles: 'any' }, schema: { tags: ['users'], response: { 200: UserSchema, ...authProblems } } },
    async (request) => request.user,
  );
};

export default me;
