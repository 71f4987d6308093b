import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { decisionRoutes } from '#api/decision-routes.js';
import {
  AlertDetailSchema,
  AlertParams,
  CallResultBody,
  CancelBody,
  ReleaseBody,
  TransferBody,
  VisitResultBody,
} from '#api/schemas/alerts.js';
import { problem, withExample } from '#api/schemas/common.js';
import { MAY } from '#domain/roles.js';

const NOT_FOUND = 'No such alert, or not one you may see';

const alert: FastifyPluginAsyncTypebox = async (app) => {
  const alerts = app.services.alerts;

  app.get(
    '',
    {
      config: { roles: MAY.readAlerts },
      schema: {
        operationId: 'getAlert',
        tags: ['alerts'],
        summary: 'One alert with its timeline (the phone in full to its assignee and station officer only)',
        params: AlertParams,
        response: { 200: AlertDetailSchema, 404: problem(NOT_FOUND) },
      },
    },
    async (request) => alerts.detail(request.user, request.params.alertId),
  );

  const decision = decisionRoutes(app, {
    tags: ['alerts'],
    params: AlertParams,
    answer: AlertDetailSchema,
    notFound: NOT_FOUND,
  });
  const nothing = withExample(Type.Object({}, { additionalProperties: false }), {});
  decision(
    {
      operationId: 'claimAlert',
      path: '/claim',
      roles: MAY.callAlerts,
      summary: 'Claim a queued alert and start calling',
      body: nothing,
    },
    (user, { alertId }, _, key) => alerts.claim(user, alertId, key),
  );
  decision(
    {
      operationId: 'releaseAlert',
      path: '/release',
      roles: MAY.callAlerts,
      summary: 'Give a claimed alert back to the queue',
      body: ReleaseBody,
    },
    (user, { alertId }, body, key) => alerts.release(user, alertId, body, key),
  );
  decision(
    {
      operationId: 'forceReleaseAlert',
      path: '/force-release',
      roles: MAY.superviseAlerts,
      summary: 'A supervisor takes a held alert back from its operator to the queue',
      body: CancelBody,
    },
    (user, { alertId }, body, key) => alerts.forceRelease(user, alertId, body, key),
  );
  decision(
    {
      operationId: 'reportCallResult',
      path: '/call-result',
      roles: MAY.callAlerts,
      summary: 'Report the result of a call',
      body: CallResultBody,
    },
    (user, { alertId }, body, key) => alerts.reportCall(user, alertId, body, key),
  );
  decision(
    {
      operationId: 'reportVisitResult',
      path: '/visit-result',
      roles: MAY.visitAlerts,
      summary: 'Report the result of an in-person visit',
      body: VisitResultBody,
    },
    (user, { alertId }, body, key) => alerts.reportVisit(user, alertId, body, key),
  );
  decision(
    {
      operationId: 'transferAlert',
      path: '/transfer',
      roles: MAY.visitAlerts,
      summary: 'Hand a visit to another station',
      body: TransferBody,
    },
    (user, { alertId }, body, key) => alerts.transfer(user, alertId, body, key),
  );
  decision(
    {
      operationId: 'cancelAlert',
      path: '/cancel',
      roles: MAY.cancelAlerts,
      summary: 'Cancel an open alert',
      body: CancelBody,
    },
    (user, { alertId }, body, key) => alerts.cancel(user, alertId, body, key),
  );
};

export default alert;
