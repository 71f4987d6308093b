/**
 * A decision as a route: `POST <path>` with a validated body, handed to the service's decision of the
 * same name with the caller and their Idempotency-Key; the answer is the case as the caller may see it.
 * Alerts, stop-payments and holds declare their decisions through it.
 */
import type { FastifyInstance } from 'fastify';
import type { Static, TSchema } from 'typebox';
import type { User } from '#db/users.js';
import type { Role } from '#domain/roles.js';
import { authProblems, IdempotencyHeaders, ProblemSchema } from './schemas/common.js';

export function decisionRoutes<P extends TSchema>(
  app: FastifyInstance,
  family: { tags: string[]; params: P; answer: TSchema },
) {
  return function decision<B extends TSchema>(
    path: string,
    roles: readonly Role[],
    summary: string,
    body: B,
    decide: (user: User, params: Static<P>, body: Static<B>, idempotencyKey: string | null) => Promise<unknown>,
  ) {
    app.post(
      path,
      {
        config: { roles, idempotent: true },
        schema: {
          tags: family.tags,
          summary,
          params: family.params,
          headers: IdempotencyHeaders,
          body,
          response: { 200: family.answer, 404: ProblemSchema, 409: ProblemSchema, ...authProblems },
        },
      },
      async (request) =>
        decide(request.user, request.params as Static<P>, request.body as Static<B>, request.idempotencyKey),
    );
  };
}
