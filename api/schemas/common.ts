import { Type, type Static, type TSchema } from 'typebox';

export const ProblemSchema = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String(),
    errors: Type.Optional(
      Type.Array(Type.Object({ pointer: Type.String(), in: Type.String(), detail: Type.String() })),
    ),
  },
  {
    $id: 'Problem',
    description: 'RFC 9457 problem details',
    additionalProperties: true,
    examples: [
      {
        type: 'https://fanzha.example/problems/validation-failed',
        title: 'Your request has invalid fields',
        status: 400,
        detail: 'Fix these fields and send again: body /reason is required',
        code: 'validation_failed',
        errors: [{ pointer: '/reason', in: 'body', detail: 'is required' }],
      },
    ],
  },
);

// The field rules the services apply too (services/fields.ts), defined there once.
export { AmountFen, ClientId, IsoTime, Phone } from '#services/fields.js';

export const ListQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
};

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 128,
      description: 'the same key with the same request repeats the first answer and has no second effect',
      examples: ['7c1e9b2a-4f3d-4e8a-9b6c-0d2f5a8e1c3b'],
    }),
  ),
});

/** The schema with an example of it, checked by tsc against its type and by `redocly lint` against the schema. */
export const withExample = <T extends TSchema>(schema: T, example: Static<T>): T => ({
  ...schema,
  examples: [example],
});

/** A page of items; its example is a page of the item's example. */
export const page = <T extends Parameters<typeof Type.Array>[0]>(item: T) => {
  const itemExample = (item as { examples?: unknown[] }).examples?.[0];
  return Type.Object(
    { items: Type.Array(item), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    {
      description: 'A page of them; `cursor=<nextCursor>` asks for the next (null: there is none)',
      ...(itemExample === undefined ? {} : { examples: [{ items: [itemExample], nextCursor: null }] }),
    },
  );
};

/** An answer in RFC 9457 problem details: its own media type, and the one shared Problem schema referenced. */
export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
});

/**
 * The problems an API route can answer by what it is (api/plugins/app/problems.ts adds the ones that apply
 * to each route; a route declares its own 404 and 409, and may word any of these for itself).
 */
export const STANDARD_PROBLEMS = {
  invalid: { 400: problem('Invalid input: `errors` names each bad field') },
  unauthenticated: { 401: problem('No token, or one that is unknown or revoked') },
  forbidden: { 403: problem('Your roles do not allow this') },
  idempotencyConflict: {
    409: problem('This Idempotency-Key was used for another request, or its first request is still running'),
  },
  body: {
    413: problem('The body is larger than 256 KiB'),
    415: problem('The body is not `application/json`'),
  },
  limited: { 429: problem('Too many requests from this token or address: retry after `Retry-After` seconds') },
  internal: { 500: problem('Something failed on our side; it has been logged') },
  unavailable: {
    503: problem(
      'Temporal or the database is unreachable, or the API is overloaded: retry after `Retry-After` seconds',
    ),
  },
};
