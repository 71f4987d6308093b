/**
 * Idempotency-Key on every POST that creates or decides (route option `config: { idempotent: true }`):
 * the same key with the same request repeats the first answer and has no second effect. Workflow
 * decisions also pass the key as the Update ID, so a request that died half-way (API killed after
 * the Update) is safely re-run when its claim on the key goes stale.
 */
import { createHash } from 'node:crypto';
import { and, eq, isNull, lt, or } from 'drizzle-orm';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { withoutQueryParams } from '#db/errors.js';
import { idempotencyKeys } from '#db/schema.js';
import { maskPhone } from '#domain/alert.js';
import { Problem } from '#api/problem.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    idempotent?: boolean;
  }
  interface FastifyRequest {
    idempotencyKey: string | null;
  }
}

/** A claim older than this with no stored answer belongs to a request that died; a retry takes it over. */
const STALE_CLAIM_MS = 30_000;
/** How long a key answers retries; older keys are forgotten (and purged), so the table holds a day. */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** The answer as it is kept for retries: every phone in it masked (a replay may show less, never store more). */
function withoutPhones(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutPhones);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, inner]) => [
      key,
      key === 'phone' && typeof inner === 'string' ? maskPhone(inner) : withoutPhones(inner),
    ]),
  );
}
const KEY = /^[\x21-\x7e]{1,128}$/;

function fingerprint(request: FastifyRequest): string {
  let text: string;
  try {
    text = JSON.stringify([request.method, request.routeOptions.url, request.params, request.body ?? null]);
  } catch (error) {
    // A body nested thousands deep (on a route without a body schema) overflows JSON.stringify: bad input, not a 500.
    if (error instanceof RangeError)
      throw new Problem(400, 'validation_failed', 'The request body is nested too deeply.', {
        errors: [{ pointer: '', in: 'body', detail: 'is nested too deeply' }],
      });
    throw error;
  }
  return createHash('sha256').update(text).digest('hex');
}

export default fp(
  async function idempotency(app: FastifyInstance) {
    app.decorateRequest('idempotencyKey', null);

    // Keys older than a day go, hourly; a purge that fails is tried again the next hour.
    const purge = () =>
      app.db
        .delete(idempotencyKeys)
        .where(lt(idempotencyKeys.createdAt, new Date(Date.now() - IDEMPOTENCY_TTL_MS)))
        .catch((error: unknown) =>
          app.log.warn({ err: withoutQueryParams(error) }, 'could not purge old Idempotency-Keys'),
        );
    const purging = setInterval(purge, 3_600_000).unref();
    app.addHook('onReady', async () => void purge());
    app.addHook('onClose', async () => clearInterval(purging));

    app.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
      if (!request.routeOptions.config.idempotent) return;
      const raw = request.headers['idempotency-key'];
      if (raw === undefined) return;
      if (typeof raw !== 'string' || !KEY.test(raw))
        throw new Problem(400, 'validation_failed', 'Idempotency-Key must be 1-128 visible ASCII characters.', {
          errors: [{ pointer: '/idempotency-key', in: 'headers', detail: 'must be 1-128 visible ASCII characters' }],
        });
      const userId = request.user.userId;
      const requestHash = fingerprint(request);
      const db = app.db;
      const now = Date.now();
      // One round trip on the way in. The key is claimed when new; taken over as new when older than a day
      // (forgotten); taken over when it is a claim gone stale (its request died half-way) for this same
      // request. Anything else is left as it is and looked at below.
      const claimed = await db
        .insert(idempotencyKeys)
        .values({ userId, key: raw, requestHash, createdAt: new Date(now) })
        .onConflictDoUpdate({
          target: [idempotencyKeys.userId, idempotencyKeys.key],
          set: { requestHash, statusCode: null, response: null, createdAt: new Date(now) },
          setWhere: or(
            lt(idempotencyKeys.createdAt, new Date(now - IDEMPOTENCY_TTL_MS)),
            and(
              isNull(idempotencyKeys.statusCode),
              eq(idempotencyKeys.requestHash, requestHash),
              lt(idempotencyKeys.createdAt, new Date(now - STALE_CLAIM_MS)),
            ),
          ),
        })
        .returning({ key: idempotencyKeys.key });
      if (claimed.length === 0) {
        const [existing] = await db
          .select()
          .from(idempotencyKeys)
          .where(and(eq(idempotencyKeys.userId, userId), eq(idempotencyKeys.key, raw)));
        if (existing && existing.requestHash !== requestHash)
          throw new Problem(
            409,
            'conflict',
            'This Idempotency-Key was already used for a different request; use a new key for a new request.',
          );
        if (existing && existing.statusCode !== null) {
          reply.header('idempotent-replayed', 'true');
          const body = existing.response as { type?: string } | null;
          if (existing.statusCode >= 400) reply.type('application/problem+json');
          return reply.status(existing.statusCode).send(body ?? undefined);
        }
        // A fresh claim without an answer (or one freed meanwhile): its request is still running.
        throw new Problem(
          409,
          'conflict',
          'A request with this Idempotency-Key is still being processed; retry in a few seconds.',
        );
      }
      request.idempotencyKey = raw;
    });

    app.addHook('onSend', async (request: FastifyRequest, reply: FastifyReply, payload: unknown) => {
      const key = request.idempotencyKey;
      if (!key) return payload;
      const where = and(eq(idempotencyKeys.userId, request.user.userId), eq(idempotencyKeys.key, key));
      if (reply.statusCode >= 500) {
        // Nothing was decided (or we cannot tell): free the key so the client's retry runs again.
        // The database may be what failed: then the claim simply goes stale, and the 5xx stays a 5xx.
        await app.db
          .delete(idempotencyKeys)
          .where(and(where, isNull(idempotencyKeys.statusCode)))
          .catch((error: unknown) =>
            request.log.warn(
              { err: withoutQueryParams(error) },
              'could not free the Idempotency-Key claim; a retry takes it over once stale',
            ),
          );
        return payload;
      }
      let response: unknown = null;
      if (typeof payload === 'string' && payload.length > 0) {
        try {
          response = JSON.parse(payload);
        } catch {
          response = null;
        }
      }
      // The answer goes out even when it cannot be stored (database gone meanwhile): the effect has
      // happened, and a retry re-runs under the same key (Update ID, case ID, alert ID) once the claim is stale.
      await app.db
        .update(idempotencyKeys)
        .set({ statusCode: reply.statusCode, response: withoutPhones(response) })
        .where(where)
        .catch((error: unknown) =>
          request.log.warn({ err: withoutQueryParams(error) }, 'could not store the answer for this Idempotency-Key'),
        );
      return payload;
    });
  },
  { name: 'idempotency', dependencies: ['authentication'] },
);
