import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type, type TSchema } from 'typebox';
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

const decision = (roles: readonly Role[]) => ({ roles, idempotent: true });

const alert: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '',
    { config: { roles: ALERT_READERS }, schema: { tags: ['alerts'], params: AlertParams, response: { 200: AlertDetailSchema, 404: ProblemSchema, ...authProblems } } },
    async (request) => presentAlert(await app.alerts.visible(request.params.alertId, request.user), request.user),
  );

  const CLAIM: Role[] = ['operator'];
  app.post('/claim', { config: decision(CLAIM), schema: decisionSchema('Claim a queued alert and start calling', Type.Object({}, { additionalProperties: false })) }, async (request) => {
    const view = await app.alerts.decide(request.params.alertId, request.user, claimUpdate, { actor: actorFor(request.user, CLAIM) }, request.idempotencyKey);
    return presentAlert(view, request.user);
  });

  app.post('/release', { config: decision(CLAIM), schema: decisionSchema('Give a claimed alert back to the queue', ReleaseBody) }, async (request) => {
    const view = await app.alerts.decide(
      request.params.alertId,
      request.user,
      releaseUpdate,
      { actor: actorFor(request.user, CLAIM), note: request.body.note },
      request.idempotencyKey,
    );
    return presentAlert(view, request.user);
  });

  app.post('/call-result', { config: decision(CLAIM), schema: decisionSchema('Report the result of a call', CallResultBody) }, async (request) => {
    const body = request.body;
    const actor = actorFor(request.user, CLAIM);
    let result: CallResultDecision;
    if (body.result === 'contacted') {
      if (!body.outcome) throw invalidField('/outcome', 'is required when result is contacted');
      if (body.reason) throw invalidField('/reason', 'is only for result not_reached');
      result = { actor, result: 'contacted', outcome: body.outcome, amountAtRiskFen: body.amountAtRiskFen, note: body.note };
    } else {
      if (body.outcome) throw invalidField('/outcome', 'is only for result contacted');
      if (body.amountAtRiskFen !== undefined) throw invalidField('/amountAtRiskFen', 'is only for result contacted');
      result = { actor, result: 'not_reached', reason: body.reason, note: body.note };
    }
    const view = await app.alerts.decide(request.params.alertId, request.user, callResultUpdate, result, request.idempotencyKey);
    return presentAlert(view, request.user);
  });

  const VISIT: Role[] = ['station', 'supervisor'];
  app.post('/visit-result', { config: decision(VISIT), schema: decisionSchema('Report the result of an in-person visit', VisitResultBody) }, async (request) => {
    const view = await app.alerts.decide(
      request.params.alertId,
      request.user,
      visitResultUpdate,
      { actor: actorFor(request.user, VISIT), outcome: request.body.outcome, note: request.body.note },
      request.idempotencyKey,
    );
    return presentAlert(view, request.user);
  });

  app.post('/transfer', { config: decision(VISIT), schema: decisionSchema('Hand a visit to another station', TransferBody) }, async (request) => {
    const view = await app.alerts.decide(
      request.params.alertId,
      request.user,
      transferUpdate,
      { actor: actorFor(request.user, VISIT), stationId: request.body.stationId, reason: request.body.reason },
      request.idempotencyKey,
    );
    return presentAlert(view, request.user);
  });

  const CANCEL: Role[] = ['platform', 'supervisor'];
  app.post('/cancel', { config: decision(CANCEL), schema: decisionSchema('Cancel an open alert', CancelBody) }, async (request) => {
    const view = await app.alerts.decide(
      request.params.alertId,
      request.user,
      cancelAlertUpdate,
      { actor: actorFor(request.user, CANCEL), reason: request.body.reason },
      request.idempotencyKey,
    );
    return presentAlert(view, request.user);
  });

};

export default alert;
