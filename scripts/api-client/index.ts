/**
 * Our own API as an integrator calls it: openapi-fetch over the types `npm run openapi` generates from
 * openapi.json (./schema.ts). The demo, the bench and the reliability tests speak to the API through it,
 * so a change of contract breaks `tsc` wherever they depend on what changed.
 */
import createClient, { type Client } from 'openapi-fetch';
import type { paths } from './schema.js';

export type { paths };
export type FanzhaClient = Client<paths>;
/** How a client sends a request: fetch, or another transport (the reliability tests' in-process one). */
export type Transport = (request: Request) => Promise<Response>;

type Operation<P extends keyof paths, M extends keyof paths[P]> = paths[P][M];
/** The JSON body an operation takes, e.g. `RequestBody<'/v1/alerts', 'post'>`. */
export type RequestBody<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { requestBody?: { content: { 'application/json': infer B } } } ? B : never;
/** The JSON an operation answers with `status`, e.g. `Answer<'/v1/alerts/{alertId}', 'get'>`. */
export type Answer<P extends keyof paths, M extends keyof paths[P], S extends number = 200> =
  Operation<P, M> extends { responses: { [K in S]: { content: { 'application/json': infer A } } } } ? A : never;

/** A client acting with `token` (none: the public routes only). */
export function fanzhaClient(baseUrl: string, token?: string, transport?: Transport): FanzhaClient {
  return createClient<paths>({
    baseUrl,
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
    ...(transport ? { fetch: transport } : {}),
  });
}

/** fetch, sending a request again (the same request) on the API's "retry later" (429, 503), at most `times` more times. */
export function retryingFetch(times: number, waitMs: (attempt: number) => number): Transport {
  return async (request) => {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(request.clone());
      if ((response.status !== 429 && response.status !== 503) || attempt >= times) return response;
      await response.body?.cancel();
      await new Promise((resolve) => setTimeout(resolve, waitMs(attempt)));
    }
  };
}

/** The answer of a call that must succeed; otherwise an error naming the request and the problem it got. */
export async function answer<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (error !== undefined || !response.ok)
    throw new Error(`${response.url}: ${response.status} ${JSON.stringify(error ?? null).slice(0, 300)}`);
  return data as T;
}
