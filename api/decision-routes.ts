/**
 * A decision as a route: `POST <path>` with a validated body, handed to the service's decision of the
 * same name with the caller and their Idempotency-Key; the answer is the case as the caller may see it.
 * Alerts, stop-payments and holds declare their decisions through it.
 */
import type { FastifyInstance } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { User } from '#db/users.js';
import type { Role } from '#domain/roles.js';
import { IdempotencyHeaders, problem } from './schemas/common.js';

export interface Decision<B extends TSchema> {
  /** The operation's name in the OpenAPI document and the generated client, e.g. `claimAlert`. */
  operationId: string;
  path: string;
  roles: readonly Role[];
  summary: string;
  body: B;
}

export function decisionRoutes<P extends TSchema>(
  app: FastifyInstance,
  family: { tags: string[]; params: P; answer: TSchema; notFound: string },
) {
  return function decision<B extends TSchema>(
    { operationId, path, roles, summary, body }: Decision<B>,
    decide: (user: User, params: Static<P>, body: Static<B>, idempotencyKey: string | null) => Promise<unknown>,
  ) {
    app.post(
      path,
      {
        config: { roles, idempotent: true },
        schema: {
          operationId,
          tags: family.tags,
          summary,
          params: family.params,
          headers: IdempotencyHeaders,
          body,
          response: {
            200: family.answer,
            404: problem(family.notFound),
            409: problem(
              'Not allowed in its current state (or not by you), or this Idempotency-Key was used for another request',
            ),
          },
        },
      },
      async (request) =>
        decide(request.user, request.params as Static<P>, request.body as Static<B>, request.idempotencyKey),
    );
  };
}
