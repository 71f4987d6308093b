/**
 * Why the system says no, in its own terms: the services throw a Refusal, and each entry point says it
 * in its own way (the JSON API as RFC 9457 problem+json, the console as a message in place).
 */
export type RefusalCode =
  | 'validation_failed'
  | 'forbidden'
  | 'separation_of_duties'
  | 'not_found'
  | 'invalid_transition'
  | 'not_assignee'
  | 'conflict'
  | 'unavailable'
  /** A sign-in with a wrong name, password or token (which of them is not said). */
  | 'unauthenticated'
  /** Too many failed sign-ins: the name or address is locked for a while. */
  | 'locked';

export interface FieldError {
  /** JSON pointer into the request part named by `in`. */
  pointer: string;
  in: 'body' | 'querystring' | 'params' | 'headers';
  detail: string;
}

export class Refusal extends Error {
  constructor(
    readonly code: RefusalCode,
    readonly detail: string,
    readonly errors: FieldError[] = [],
  ) {
    super(detail);
    this.name = 'Refusal';
  }
}

export const notFound = (what: string) => new Refusal('not_found', `${what} does not exist or is not visible to you.`);
export const invalidField = (pointer: string, detail: string, where: FieldError['in'] = 'body') =>
  new Refusal('validation_failed', `${pointer} ${detail}`, [{ pointer, in: where, detail }]);

/**
 * A Refusal, recognised by name rather than by class: a test runner can load this module twice (once
 * for the test, once through Node for autoloaded routes), and each copy has its own class.
 */
export const isRefusal = (error: unknown): error is Refusal =>
  error instanceof Error && error.name === 'Refusal' && typeof (error as Refusal).code === 'string';

/** The HTTP status of each refusal: the JSON API (API.md) and the console answer alike. */
export const REFUSAL_STATUS: Record<RefusalCode, number> = {
  validation_failed: 400,
  unauthenticated: 401,
  forbidden: 403,
  separation_of_duties: 403,
  not_found: 404,
  invalid_transition: 409,
  not_assignee: 409,
  conflict: 409,
  locked: 429,
  unavailable: 503,
};
