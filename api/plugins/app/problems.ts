/** Every error leaves as application/problem+json with a machine code; bad input never becomes a 500. */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { withoutQueryParams } from '#db/errors.js';
import { invalidField, isRefusal, type Refusal } from '#domain/refusal.js';
import { isUnavailable } from '#domain/unavailable.js';
import { Problem, type FieldError } from '#api/problem.js';
import { STANDARD_PROBLEMS } from '#api/schemas/common.js';

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

function fieldErrors(errors: AjvError[], where: FieldError['in']): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    let pointer = error.instancePath;
    let detail = error.message ?? 'is invalid';
    if (error.keyword === 'required') {
      pointer += `/${String(error.params.missingProperty)}`;
      detail = 'is required';
    } else if (error.keyword === 'additionalProperties') {
      pointer += `/${String(error.params.additionalProperty)}`;
      detail = 'is not an accepted field';
    } else if (error.keyword === 'enum') {
      detail = `must be one of: ${(error.params.allowedValues as unknown[]).join(', ')}`;
    } else if (error.keyword === 'format') {
      detail =
        error.params.format === 'date-time'
          ? 'must be an ISO-8601 date-time with offset, e.g. 2026-11-28T09:12:00+08:00'
          : detail;
    }
    const key = `${pointer}|${detail}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ pointer, in: where, detail });
  }
  return out;
}

export function toProblem(error: (FastifyError & { validationContext?: string }) | Refusal): Problem {
  if (isRefusal(error)) return Problem.fromRefusal(error);
  if (error instanceof Problem) return error;
  if (error.validation) {
    const where = (error.validationContext ?? 'body') as FieldError['in'];
    const errors = fieldErrors(error.validation as AjvError[], where);
    const summary = errors.map((e) => `${e.in} ${e.pointer || '(whole)'} ${e.detail}`).join('; ');
    return new Problem(400, 'validation_failed', `Fix these fields and send again: ${summary}`, { errors });
  }
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new Problem(400, 'validation_failed', `The request body is not valid JSON: ${error.message}`, {
        errors: [{ pointer: '', in: 'body', detail: 'must be well-formed JSON' }],
      });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new Problem(413, 'payload_too_large', 'The request body is larger than this API accepts.');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new Problem(415, 'unsupported_media_type', 'Send the body as application/json.');
  }
  if (error instanceof SyntaxError) {
    return new Problem(400, 'validation_failed', `The request body is not valid JSON: ${error.message}`, {
      errors: [{ pointer: '', in: 'body', detail: 'must be well-formed JSON' }],
    });
  }
  if (error.statusCode === 429) return new Problem(429, 'rate_limited', error.message || 'Slow down and retry later.');
  if (isUnavailable(error))
    return new Problem(503, 'unavailable', 'Temporal or the database is unreachable right now; retry shortly.');
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new Problem(error.statusCode, error.statusCode === 404 ? 'not_found' : 'validation_failed', error.message);
  }
  return new Problem(500, 'internal', 'Something went wrong on our side. It has been logged.');
}

export default fp(
  async function problems(app: FastifyInstance) {
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const problem = toProblem(error);
      if (problem.status >= 500) request.log.error({ err: withoutQueryParams(error) }, 'request failed');
      else request.log.info({ code: problem.code }, problem.detail);
      if (problem.status === 503) reply.header('retry-after', '2');
      return reply.status(problem.status).type('application/problem+json').send(problem.toJSON());
    });
    // Each API route documents the problems it can answer by what it is (a route's own wording wins). A
    // problem schema also serializes those answers: the Problem schema keeps every field they carry.
    app.addHook('onRoute', (route) => {
      const config = route.config as { roles?: readonly string[] | 'any'; idempotent?: boolean } | undefined;
      if (!config?.roles) return; // public probes declare their own; the console and the simulator are not the API
      const takesBody = [route.method].flat().some((method) => method !== 'GET' && method !== 'HEAD');
      const schema = route.schema ?? {};
      route.schema = {
        ...schema,
        response: {
          ...STANDARD_PROBLEMS.invalid,
          ...STANDARD_PROBLEMS.unauthenticated,
          ...(config.roles === 'any' ? {} : STANDARD_PROBLEMS.forbidden),
          ...(config.idempotent ? STANDARD_PROBLEMS.idempotencyConflict : {}),
          ...(takesBody ? STANDARD_PROBLEMS.body : {}),
          ...STANDARD_PROBLEMS.limited,
          ...STANDARD_PROBLEMS.internal,
          ...STANDARD_PROBLEMS.unavailable,
          ...(schema.response as object | undefined),
        },
      };
    });
    // PostgreSQL text and jsonb cannot hold U+0000: refuse it up front, naming the field, rather than
    // fail later (a 500, or a projection that can never be written).
    app.addHook('preValidation', async (request) => {
      for (const [where, value] of [
        ['params', request.params],
        ['querystring', request.query],
        ['body', request.body],
      ] as const) {
        const pointer = findNul(value);
        if (pointer !== null) throw invalidField(pointer, 'must not contain the NUL character (U+0000)', where);
      }
    });
    // Probing for routes is throttled like any request (the rate limiter registers after this plugin).
    type Throttle = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
    let throttle: Throttle | null | undefined;
    app.setNotFoundHandler(
      {
        preHandler: async (request: FastifyRequest, reply: FastifyReply) => {
          throttle ??= app.hasDecorator('rateLimit') ? (app.rateLimit() as unknown as Throttle) : null;
          await throttle?.(request, reply);
        },
      },
      (request, reply) =>
        reply
          .status(404)
          .type('application/problem+json')
          .send(new Problem(404, 'not_found', `No route ${request.method} ${request.url.split('?')[0]}.`).toJSON()),
    );
  },
  { name: 'problems' },
);

/** JSON pointer of the first string (value or key) holding U+0000, or null. Iterative: any depth is fine. */
function findNul(root: unknown): string | null {
  const stack: [unknown, string][] = [[root, '']];
  while (stack.length > 0) {
    const [value, pointer] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return pointer;
    } else if (value && typeof value === 'object') {
      for (const [key, child] of Object.entries(value)) {
        const at = `${pointer}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        if (key.includes('\u0000')) return at;
        stack.push([child, at]);
      }
    }
  }
  return null;
}
