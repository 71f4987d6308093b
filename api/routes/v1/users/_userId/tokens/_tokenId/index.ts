import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { MAY } from '#domain/roles.js';
import { problem } from '#api/schemas/common.js';
import { TokenParams } from '#api/schemas/users.js';

const token: FastifyPluginAsyncTypebox = async (app) => {
  app.delete(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'revokeToken',
        tags: ['users'],
        summary: 'Revoke a token: it stops working at once, in every API process',
        params: TokenParams,
        response: {
          204: Type.Null({ description: 'Revoked (or already revoked)' }),
          404: problem('No such user or token'),
        },
      },
    },
    async (request, reply) => {
      const { userId, tokenId } = request.params;
      await app.services.users.revokeToken(request.user, userId, tokenId);
      request.log.info({ userId, tokenId }, 'token revoked');
      return reply.status(204).send(null);
    },
  );
};

export default token;
