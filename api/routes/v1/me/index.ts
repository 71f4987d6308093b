import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { UserSchema } from '#api/schemas/users.js';

const me: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: 'any' },
      schema: {
        operationId: 'getMe',
        tags: ['users'],
        summary: 'Who this token belongs to: name, roles and station',
        response: { 200: UserSchema },
      },
    },
    async (request) => request.user,
  );
};

export default me;
