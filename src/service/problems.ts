/**
 * Problem-details errors (RFC 9457) with the registry's stable machine codes. Every error the service answers
 * is one of these; anything else becomes a 500 `internal_error` that tells nothing of the internals.
 */
import type { FieldError } from '../engine/index.js';
import { LedgerError } from '../ledger/index.js';

export type ProblemCode =
  | 'unauthorized'
  | 'forbidden'
  | 'insufficient_credit'
  | 'api_request_limit_reached'
  | 'not_found'
  | 'validation_error'
  | 'idempotency_conflict'
  | 'too_many_requests'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'request_timeout'
  | 'not_ready'
  | 'overloaded'
  | 'internal_error';

const titles: Record<ProblemCode, string> = {
  unauthorized: 'Unauthorized access.',
  forbidden: 'Forbidden.',
  insufficient_credit: 'Insufficient credit.',
  api_request_limit_reached: 'API request limit reached.',
  not_found: 'Not found.',
  validation_error: 'Validation error.',
  idempotency_conflict: 'Idempotency key reused.',
  too_many_requests: 'Too many requests.',
  payload_too_large: 'Payload too large.',
  unsupported_media_type: 'Unsupported media type.',
  request_timeout: 'Request timeout.',
  not_ready: 'Service not ready.',
  overloaded: 'Service overloaded.',
  internal_error: 'Internal server error.',
};

export class Problem extends Error {
  constructor(
    readonly status: number,
    readonly code: ProblemCode,
    readonly detail: string,
    readonly errors?: FieldError[],
    /** Response headers the problem needs, such as Retry-After. */
    readonly headers: Record<string, string> = {},
  ) {
    // An expected answer (a 404 is two in five verifications), not a bug: no stack trace to capture.
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'Problem';
  }

  /** The JSON body for a request to `instance`. */
  body(instance: string): ProblemBody {
    return {
      type: `urn:certmatch:problem:${this.code}`,
      title: titles[this.code],
      status: this.status,
      detail: this.detail,
      instance,
      code: this.code,
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  code: ProblemCode;
  errors?: FieldError[];
}

export const unauthorized = () =>
  new Problem(401, 'unauthorized', 'Authentication failed due to invalid credentials or missing token.');

export const notFound = (detail: string) => new Problem(404, 'not_found', detail);

export const validationProblem = (errors: FieldError[]) =>
  new Problem(
    400,
    'validation_error',
    errors.map((error) => `${error.field}: ${error.message}`).join('; '),
    errors,
  );

/** The HTTP face of a ledger refusal. */
export function problemOfLedgerError(error: LedgerError): Problem {
  switch (error.code) {
    case 'insufficient_credit':
      return new Problem(403, 'insufficient_credit', 'The account has no credits left for an exact match.');
    case 'budget_exceeded':
      return new Problem(403, 'api_request_limit_reached', error.message);
    case 'unknown_key':
    case 'key_revoked':
      return unauthorized();
    case 'credit_not_found':
      return notFound('Credit not found');
    case 'unknown_account':
      return notFound(error.message);
    case 'idempotency_conflict':
      return new Problem(409, 'idempotency_conflict', error.message);
    case 'credit_voided':
      return new Problem(409, 'validation_error', error.message);
    default:
      return validationProblem([{ field: fieldOfLedgerError(error), message: error.message }]);
  }
}

function fieldOfLedgerError(error: LedgerError): string {
  if (error.code === 'invalid_amount') return error.message.startsWith('priority') ? 'priority' : 'amount';
  if (error.code === 'invalid_service') return 'service';
  if (error.code === 'invalid_plan') return 'plan';
  return error.message.startsWith('expiresAt') ? 'expiresAt' : 'request';
}

export function isLedgerError(error: unknown): error is LedgerError {
  return error instanceof LedgerError;
}
