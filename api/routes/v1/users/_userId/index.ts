import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { problem } from '#api/schemas/common.js';
import { UserChangeSchema, UserIdParams, UserSchema } from '#api/schemas/users.js';

// An admin changes a user's name, roles or station, or disables them (every session ends at once) and enables them again.
const user: FastifyPluginAsyncTypebox = async (app) => {
  app.patch(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'updateUser',
        tags: ['users'],
        summary: 'Change a user, or disable (and enable) them',
        params: UserIdParams,
        body: UserChangeSchema,
        response: { 200: UserSchema, 404: problem('No such user'), 409: problem('An admin cannot disable themselves') },
      },
    },
    async (request) => {
      const changed = await app.services.users.update(request.user, request.params.userId, request.body);
      request.log.info({ userId: request.params.userId, fields: Object.keys(request.body) }, 'user changed');
      return changed;
    },
  );
};

export default user;
