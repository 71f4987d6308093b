import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { UpdateDefinition } from '@temporalio/common';
import { Type, type Static, type TSchema } from 'typebox';
import type { AlertView, DecisionActor } from '../../../../../domain/alert.js';
import type { Role } from '../../../../../domain/roles.js';
import type { CallResultDecision } from '../../../../../workflows/messages.js';
import {
  callResultUpdate,
  cancelAlertUpdate,
  claimUpdate,
  releaseUpdate,
  transferUpdate,
  visitResultUpdate,
} from '../../../../../workflows/messages.js';
import { actorFor } from '../../../../decisions.js';
import { presentAlert } from '../../../../plugins/app/alerts.js';
import { invalidField } from '../../../../problem.js';
import {
  AlertDetailSchema,
  AlertParams,
  CallResultBody,
  CancelBody,
  ReleaseBody,
  TransferBody,
  VisitResultBody,
} from '../../../../schemas/alerts.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from '../../../../schemas/common.js';
import { ALERT_READERS } from '../index.js';

const decisionSchema = <B extends TSchema>(summary: string, body: B) => ({
  tags: ['alerts'],
  summary,
  params: AlertParams,
  headers: IdempotencyHeaders,
  body,
  response: { 200: AlertDetailSchema, 404: ProblemSchema, 409: ProblemSchema, ...authProblems },
});

const alert: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    { config: { roles: ALERT_READERS }, schema: { tags: ['alerts'], params: AlertParams, response: { 200: AlertDetailSchema, 404: ProblemSchema, ...authProblems } } },
    async (request) => presentAlert(await app.alerts.visible(request.params.alertId, request.user), request.user),
  );

  /** A decision route: the validated body becomes the decision, with its actor, sent as an Update. */
  function decisionRoute<B extends TSchema, D extends { actor: DecisionActor }>(
    path: string,
    roles: Role[],
    summary: string,
    body: B,
    update: UpdateDefinition<AlertView, [D]>,
    toDecision: (body: Static<B>, actor: DecisionActor) => D,
  ) {
    app.post(path, { config: { roles, idempotent: true }, schema: decisionSchema(summary, body) }, async (request) => {
      const decision = toDecision(request.body as Static<B>, actorFor(request.user, roles));
      return presentAlert(await app.alerts.decide(request.params.alertId, request.user, update, decision, request.idempotencyKey), request.user);
    });
  }

  const OPERATOR: Role[] = ['operator'];
  const VISIT: Role[] = ['station', 'supervisor'];
  const CANCEL: Role[] = ['platform', 'supervisor'];

  decisionRoute('/claim', OPERATOR, 'Claim a queued alert and start calling', Type.Object({}, { additionalProperties: false }), claimUpdate, (_body, actor) => ({ actor }));
  decisionRoute('/release', OPERATOR, 'Give a claimed alert back to the queue', ReleaseBody, releaseUpdate, (body, actor) => ({ actor, note: body.note }));
  decisionRoute('/call-result', OPERATOR, 'Report the result of a call', CallResultBody, callResultUpdate, (body, actor): CallResultDecision => {
    if (body.result === 'contacted') {
      if (!body.outcome) throw invalidField('/outcome', 'is required when result is contacted');
      if (body.reason) throw invalidField('/reason', 'is only for result not_reached');
      return { actor, result: 'contacted', outcome: body.outcome, amountAtRiskFen: body.amountAtRiskFen, note: body.note };
    }
    if (body.outcome) throw invalidField('/outcome', 'is only for result contacted');
    if (body.amountAtRiskFen !== undefined) throw invalidField('/amountAtRiskFen', 'is only for result contacted');
    return { actor, result: 'not_reached', reason: body.reason, note: body.note };
  });
  decisionRoute('/visit-result', VISIT, 'Report the result of an in-person visit', VisitResultBody, visitResultUpdate, (body, actor) => ({ actor, outcome: body.outcome, note: body.note }));
  decisionRoute('/transfer', VISIT, 'Hand a visit to another station', TransferBody, transferUpdate, (body, actor) => ({ actor, stationId: body.stationId, reason: body.reason }));
  decisionRoute('/cancel', CANCEL, 'Cancel an open alert', CancelBody, cancelAlertUpdate, (body, actor) => ({ actor, reason: body.reason }));
};

export default alert;
