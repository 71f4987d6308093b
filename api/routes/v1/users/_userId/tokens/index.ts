import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { problem } from '#api/schemas/common.js';
import { IssuedTokenSchema, NewTokenSchema, TokenListSchema, UserIdParams } from '#api/schemas/users.js';

// No Idempotency-Key replay here on purpose: replaying would mean storing the token itself.
const tokens: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'issueToken',
        tags: ['users'],
        summary: 'Issue an API token for a user (shown once, in this answer)',
        params: UserIdParams,
        body: NewTokenSchema,
        response: { 201: IssuedTokenSchema, 404: problem('No such user') },
      },
    },
    async (request, reply) => {
      const issued = await app.services.users.issueToken(
        request.user,
        request.params.userId,
        request.body?.label ?? null,
      );
      request.log.info({ userId: request.params.userId, tokenId: issued.tokenId }, 'token issued');
      return reply.status(201).send(issued);
    },
  );

  app.get(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'listTokens',
        tags: ['users'],
        summary: "A user's tokens, newest first: who issued each and whether revoked (never a token's value)",
        params: UserIdParams,
        response: { 200: TokenListSchema, 404: problem('No such user') },
      },
    },
    async (request) => app.services.users.tokens(request.user, request.params.userId),
  );
};

export default tokens;
