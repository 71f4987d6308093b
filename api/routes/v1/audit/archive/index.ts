/** The hash-chained archive of closed histories, and its verification. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MAY } from '#domain/roles.js';
import { ArchiveQuery, ArchiveRecordSchema, VerifySchema } from '#api/schemas/audit.js';
import { page } from '#api/schemas/common.js';

const archive: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'listArchive',
        tags: ['audit'],
        summary: 'Archived runs, newest archived first',
        querystring: ArchiveQuery,
        response: { 200: page(ArchiveRecordSchema) },
      },
    },
    async (request) => app.services.audit.archive(request.user, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/verify',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'verifyArchive',
        tags: ['audit'],
        summary:
          'Walks the hash chain: ok, or the first record that was altered or whose predecessor was deleted or moved',
        response: { 200: VerifySchema },
      },
    },
    async (request) => app.services.audit.verify(request.user),
  );
};

export default archive;
