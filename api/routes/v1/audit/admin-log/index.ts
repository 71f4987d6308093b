/** Every privileged act — users, roles, tokens, enrollments — append-only, for the auditors. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { AdminLogEntrySchema, AdminLogQuery } from '#api/schemas/audit.js';
import { page } from '#api/schemas/common.js';

const adminLog: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'listAdminLog',
        tags: ['audit'],
        summary: 'The admin log (who created or changed a user, issued or revoked a token, …), newest first',
        querystring: AdminLogQuery,
        response: { 200: page(AdminLogEntrySchema) },
      },
    },
    async (request) =>
      app.services.audit.adminLog(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );
};

export default adminLog;
