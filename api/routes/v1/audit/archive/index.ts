/** The hash-chained archive of closed histories, and its verification. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ArchiveQuery, ArchiveRecordSchema, VerifySchema } from '../../../../schemas/audit.js';
import { authProblems, page } from '../../../../schemas/common.js';
import { AUDITOR } from '../workflows/_workflowId/index.js';

const archive: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    {
      config: { roles: AUDITOR },
      schema: {
        tags: ['audit'],
        summary: 'Archived runs, newest archived first',
        querystring: ArchiveQuery,
        response: { 200: page(ArchiveRecordSchema), ...authProblems },
      },
    },
    async (request) => {
      await app.audit.logAccess(request.user, 'archive_list', request.query.workflowId ?? null);
      return app.audit.archive({ ...request.query, limit: request.query.limit ?? 50 });
    },
  );

  app.get(
    '/verify',
    {
      config: { roles: AUDITOR },
      schema: {
        tags: ['audit'],
        summary: 'Walks the hash chain: ok, or the first record that was altered or whose predecessor was deleted or moved',
        response: { 200: VerifySchema, ...authProblems },
      },
    },
    async (request) => {
      await app.audit.logAccess(request.user, 'archive_verify');
      return app.audit.verify();
    },
  );
};

export default archive;
