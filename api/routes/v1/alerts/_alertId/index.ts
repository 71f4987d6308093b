import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type Static, type TSchema } from 'typebox';
import type { AlertView } from '#domain/alert.js';
import { MAY, type Role } from '#domain/roles.js';
import type { User } from '#db/users.js';
import {
  AlertDetailSchema,
  AlertParams,
  CallResultBody,
  CancelBody,
  ReleaseBody,
  TransferBody,
  VisitResultBody,
} from '#api/schemas/alerts.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '#api/schemas/common.js';

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

  /** A decision route: the validated body goes to the service's decision of the same name. */
  function decisionRoute<B extends TSchema>(
    path: string,
    roles: readonly Role[],
    summary: string,
    body: B,
    decide: (user: User, alertId: string, body: Static<B>, idempotencyKey: string | null) => Promise<AlertView>,
  ) {
    app.post(
      path,
      {
        config: { roles, idempotent: true },
        schema: {
          tags: ['alerts'],
          summary,
          params: AlertParams,
          headers: IdempotencyHeaders,
          body,
          response: { 200: AlertDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems },
        },
      },
      async (request) =>
        decide(request.user, request.params.alertId, request.body as Static<B>, request.idempotencyKey),
    );
  }

  decisionRoute(
    '/claim',
    MAY.callAlerts,
    'Claim a queued alert and start calling',
    Type.Object({}, { additionalProperties: false }),
    (user, id, _body, key) => alerts.claim(user, id, key),
  );
  decisionRoute('/release', MAY.callAlerts, 'Give a claimed alert back to the queue', ReleaseBody, alerts.release);
  decisionRoute('/call-result', MAY.callAlerts, 'Report the result of a call', CallResultBody, alerts.reportCall);
  decisionRoute(
    '/visit-result',
    MAY.visitAlerts,
    'Report the result of an in-person visit',
    VisitResultBody,
    alerts.reportVisit,
  );
  decisionRoute('/transfer', MAY.visitAlerts, 'Hand a visit to another station', TransferBody, alerts.transfer);
  decisionRoute('/cancel', MAY.cancelAlerts, 'Cancel an open alert', CancelBody, alerts.cancel);
};

export default alert;
