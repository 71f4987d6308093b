import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { authProblems, ProblemSchema } from '../../../../../schemas/common.js';
import { IssuedTokenSchema, NewTokenSchema, UserIdParams } from '../../../../../schemas/users.js';
import { notFound } from '../../../../../problem.js';

// No Idempotency-Key replay here on purpose: replaying would mean storing the token itself.
const tokens: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['users'],
        params: UserIdParams,
        body: NewTokenSchema,
        response: { 201: IssuedTokenSchema, 404: ProblemSchema, ...authProblems },
      },
    },
    async (request, reply) => {
      const user = await app.users.get(request.params.userId);
      if (!user) throw notFound(`User ${request.params.userId}`);
      const issued = await app.users.issueToken(user.userId, request.body?.label ?? null);
      request.log.info({ userId: user.userId, tokenId: issued.tokenId }, 'token issued');
      return reply.status(201).send(issued);
    },
  );
};

export default tokens;
