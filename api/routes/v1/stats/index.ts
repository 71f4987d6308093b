import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { StatsQuery, StatsSchema } from '#api/schemas/stats.js';

const stats: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.readStats },
      schema: {
        operationId: 'getStats',
        tags: ['statistics'],
        summary: 'The center in numbers for [from, to) (default: the last 24 hours)',
        querystring: StatsQuery,
        response: { 200: StatsSchema },
      },
    },
    async (request) => app.services.stats.forPeriod(request.user, request.query),
  );
};

export default stats;
