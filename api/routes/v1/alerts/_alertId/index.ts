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
import { authProblems, ProblemSchema } from '#api/schemas/common.js';
import { MAY } from '#domain/roles.js';

const alert: FastifyPluginAsyncTypebox = async (app) => {
  const alerts = app.services.alerts;

  app.get(
    '',
    {
      config: { roles: MAY.readAlerts },
      schema: {
        tags: ['alerts'],
        params: AlertParams,
        response: { 200: AlertDetailSchema, 404: ProblemSchema, ...authProblems },
      },
    },
    async (request) => alerts.detail(request.user, request.params.alertId),
  );

  const decision = decisionRoutes(app, { tags: ['alerts'], params: AlertParams, answer: AlertDetailSchema });
  const nothing = Type.Object({}, { additionalProperties: false });
  decision('/claim', MAY.callAlerts, 'Claim a queued alert and start calling', nothing, (user, { alertId }, _, key) =>
    alerts.claim(user, alertId, key),
  );
  decision(
    '/release',
    MAY.callAlerts,
    'Give a claimed alert back to the queue',
    ReleaseBody,
    (user, { alertId }, body, key) => alerts.release(user, alertId, body, key),
  );
  decision(
    '/force-release',
    MAY.superviseAlerts,
    'A supervisor takes a held alert back from its operator to the queue',
    CancelBody,
    (user, { alertId }, body, key) => alerts.forceRelease(user, alertId, body, key),
  );
  decision(
    '/call-result',
    MAY.callAlerts,
    'Report the result of a call',
    CallResultBody,
    (user, { alertId }, body, key) => alerts.reportCall(user, alertId, body, key),
  );
  decision(
    '/visit-result',
    MAY.visitAlerts,
    'Report the result of an in-person visit',
    VisitResultBody,
    (user, { alertId }, body, key) => alerts.reportVisit(user, alertId, body, key),
  );
  decision(
    '/transfer',
    MAY.visitAlerts,
    'Hand a visit to another station',
    TransferBody,
    (user, { alertId }, body, key) => alerts.transfer(user, alertId, body, key),
  );
  decision('/cancel', MAY.cancelAlerts, 'Cancel an open alert', CancelBody, (user, { alertId }, body, key) =>
    alerts.cancel(user, alertId, body, key),
  );
};

export default alert;
