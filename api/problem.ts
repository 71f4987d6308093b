/** RFC 9457 problem details with the machine codes of API.md; a service's Refusal becomes one here. */
import { REFUSAL_STATUS, type FieldError, type Refusal, type RefusalCode } from '#domain/refusal.js';

export type { FieldError };

export type ProblemCode = RefusalCode | 'payload_too_large' | 'unsupported_media_type' | 'rate_limited' | 'internal';

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
  locked: 'Locked after too many failed sign-ins',
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

  static fromRefusal(refusal: Refusal): Problem {
    return new Problem(
      REFUSAL_STATUS[refusal.code],
      refusal.code,
      refusal.detail,
      refusal.errors.length > 0 ? { errors: refusal.errors } : {},
    );
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
