import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { invalidField } from '../../../problem.js';
import { authProblems } from '../../../schemas/common.js';
import { StatsQuery, StatsSchema } from '../../../schemas/stats.js';

const DAY = 86_400_000;
const MAX_PERIOD = 5 * 366 * DAY;

const stats: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: ['supervisor', 'auditor'] },
      schema: {
        tags: ['statistics'],
        summary: 'The center in numbers for [from, to) (default: the last 24 hours)',
        querystring: StatsQuery,
        response: { 200: StatsSchema, ...authProblems },
      },
    },
    async (request) => {
      const to = request.query.to ? new Date(request.query.to) : new Date();
      const from = request.query.from ? new Date(request.query.from) : new Date(to.getTime() - DAY);
      if (from.getTime() >= to.getTime()) throw invalidField('/from', 'must be before to', 'querystring');
      if (to.getTime() - from.getTime() > MAX_PERIOD) throw invalidField('/from', 'must be at most five years before to', 'querystring');
      return app.stats.compute(from, to);
    },
  );
};

export default stats;
