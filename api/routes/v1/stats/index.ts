import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { authProblems } from '#api/schemas/common.js';
import { StatsQuery, StatsSchema } from '#api/schemas/stats.js';

const stats: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.readStats },
      schema: {
        tags: ['statistics'],
        summary: 'The center in numbers for [from, to) (default: the last 24 hours)',
        querystring: StatsQuery,
        response: { 200: StatsSchema, ...authProblems },
      },
    },
    async (request) => app.services.stats.forPeriod(request.user, request.query),
  );
};

export default stats;
