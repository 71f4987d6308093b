/** Who read which case through the audit endpoints, and when (admin). */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { AccessLogEntrySchema, AccessLogQuery } from '#api/schemas/audit.js';
import { page } from '#api/schemas/common.js';

const accessLog: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.administer },
      schema: {
        operationId: 'listAccessLog',
        tags: ['audit'],
        summary: 'The audit access log, newest first',
        querystring: AccessLogQuery,
        response: { 200: page(AccessLogEntrySchema) },
      },
    },
    async (request) =>
      app.services.audit.accessLog(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default accessLog;
