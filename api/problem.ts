/** RFC 9457 problem details with the machine codes of API.md. */
export type ProblemCode =
  | 'validation_failed'
  | 'unauthenticated'
  | 'forbidden'
  | 'separation_of_duties'
  | 'not_found'
  | 'invalid_transition'
  | 'not_assignee'
  | 'conflict'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'unavailable'
  | 'internal';

export interface FieldError {
  /** JSON pointer into the request part named by `in`. */
  pointer: string;
  in: 'body' | 'querystring' | 'params' | 'headers';
  detail: string;
}

const TITLES: Record<ProblemCode, string> = {
  validation_failed: 'Your request has invalid fields',
  unauthenticated: 'Authentication required',
  forbidden: 'Your role may not do this',
  separation_of_duties: 'Separation of duties',
  not_found: 'Not found',
  invalid_transition: 'Not allowed in the current state',
  not_assignee: 'Only the assignee may do this',
  conflict: 'Conflict',
  payload_too_large: 'Request body too large',
  unsupported_media_type: 'Unsupported media type',
  rate_limited: 'Too many requests',
  unavailable: 'Service unavailable',
  internal: 'Internal error',
};

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly extra: { errors?: FieldError[] } & Record<string, unknown> = {},
  ) {
    super(detail);
  }

  toJSON() {
    return {
      type: `https://fanzha.example/problems/${this.code.replace(/_/g, '-')}`,
      title: TITLES[this.code],
      status: this.status,
      detail: this.detail,
      code: this.code,
      ...this.extra,
    };
  }
}

export const notFound = (what: string) => new Problem(404, 'not_found', `${what} does not exist or is not visible to you.`);
export const invalidField = (pointer: string, detail: string, where: FieldError['in'] = 'body') =>
  new Problem(400, 'validation_failed', `${pointer} ${detail}`, { errors: [{ pointer, in: where, detail }] });
