import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField } from '#domain/refusal.js';
import { MAY } from '#domain/roles.js';
import { SearchAnswerSchema, SearchQuery } from '#api/schemas/search.js';

// Two questions asked many times a day: has this person been warned before? which cases sent money to this account?
const search: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: [...new Set([...MAY.searchPhones, ...MAY.searchAccounts])] },
      schema: {
        operationId: 'search',
        tags: ['search'],
        summary: 'Every alert and case of a victim phone, or every case and stop on a receiving account',
        description:
          'Exactly one of `phone` (supervisor, auditor) or `account` (also call-takers). Written to the access log.',
        querystring: SearchQuery,
        response: { 200: SearchAnswerSchema },
      },
    },
    async (request) => {
      const { phone, account } = request.query;
      if ((phone === undefined) === (account === undefined))
        throw invalidField('/phone', 'give exactly one of phone or account', 'querystring');
      return phone !== undefined
        ? app.services.search.byPhone(request.user, phone)
        : app.services.search.byAccount(request.user, account!);
    },
  );
};

export default search;
