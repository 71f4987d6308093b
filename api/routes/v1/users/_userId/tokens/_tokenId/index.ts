import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { authProblems, ProblemSchema } from '../../../../../../schemas/common.js';
import { TokenParams } from '../../../../../../schemas/users.js';
import { notFound } from '../../../../../../problem.js';

const token: FastifyPluginAsyncTypebox = async (app) => {
  app.delete(
    '',
    {
      config: { roles: ['admin'] },
      schema: { tags: ['users'], params: TokenParams, response: { 204: Type.Null(), 404: ProblemSchema, ...authProblems } },
    },
    async (request, reply) => {
      const { userId, tokenId } = request.params;
      const revoked = await app.users.revokeToken(userId, tokenId);
      // Revoking twice is fine (DELETE is idempotent); an unknown token is not.
      if (!revoked && !(await app.users.tokenExists(userId, tokenId))) throw notFound(`Token ${tokenId} of user ${userId}`);
      request.log.info({ userId, tokenId }, 'token revoked');
      return reply.status(204).send(null);
    },
  );
};

export default token;
