/** One workflow as an auditor reads it: timeline, raw history, replay. Every read is in the access log. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { Static } from 'typebox';
import { MAY } from '#domain/roles.js';
import {
  AuditWorkflowParams,
  HistorySchema,
  ReplayBody,
  ReplaySchema,
  RunQuery,
  TimelineSchema,
} from '#api/schemas/audit.js';
import { problem } from '#api/schemas/common.js';

const NOT_FOUND = 'Neither Temporal nor the archive has this workflow (or run)';

const auditWorkflow: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/timeline',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'getWorkflowTimeline',
        tags: ['audit'],
        summary:
          'Who decided what and when, timers, escalations, bank calls: the history as a person reads it (every run of a continue-as-new chain)',
        params: AuditWorkflowParams,
        response: { 200: TimelineSchema, 404: problem(NOT_FOUND) },
      },
    },
    async (request) => app.services.audit.timeline(request.user, request.params.workflowId),
  );

  app.get(
    '/history',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'getWorkflowHistory',
        tags: ['audit'],
        summary:
          'The raw history of one run (the newest unless runId): the JSON `temporal workflow show --output json` prints, replayable with Worker.runReplayHistory',
        params: AuditWorkflowParams,
        querystring: RunQuery,
        response: { 200: HistorySchema, 404: problem(NOT_FOUND) },
      },
    },
    async (request, reply) => {
      const run = await app.services.audit.history(request.user, request.params.workflowId, request.query.runId);
      // The text as Temporal wrote it or as the archive hashed it, byte for byte.
      return reply
        .type('application/json; charset=utf-8')
        .header('x-workflow-run-id', run.runId)
        .header('x-workflow-type', run.workflowType)
        .header('x-history-source', run.source)
        .send(run.text as unknown as Static<typeof HistorySchema>);
    },
  );

  app.post(
    '/replay',
    {
      config: { roles: MAY.audit },
      schema: {
        operationId: 'replayWorkflow',
        tags: ['audit'],
        summary: 'Replays the history of one run (the newest unless runId) against the workflow code in use now',
        params: AuditWorkflowParams,
        body: ReplayBody,
        response: { 200: ReplaySchema, 404: problem(NOT_FOUND) },
      },
    },
    async (request) => app.services.audit.replay(request.user, request.params.workflowId, request.body.runId),
  );
};

export default auditWorkflow;
