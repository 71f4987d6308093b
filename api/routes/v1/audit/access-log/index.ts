/** Who read which case through the audit endpoints, and when (admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AccessLogEntrySchema, AccessLogQuery } from '../../../../schemas/audit.js';
import { authProblems, page } from '../../../../schemas/common.js';

const accessLog: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: ['admin'] },
      schema: {
        tags: ['audit'],
        summary: 'The audit access log, newest first',
        querystring: AccessLogQuery,
        response: { 200: page(AccessLogEntrySchema), ...authProblems },
      },
    },
    async (request) => app.audit.accessLog({ ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default accessLog;
