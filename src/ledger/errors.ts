/**
 * Expected failures of the ledger: business outcomes and bad input, each with a stable code. They are values
 * callers branch on (the HTTP layer maps codes to statuses), never a sign of a bug; a bug fails an assertion.
 */
export type LedgerErrorCode =
  | 'insufficient_credit'
  | 'budget_exceeded'
  | 'unknown_account'
  | 'unknown_key'
  | 'key_revoked'
  | 'credit_not_found'
  | 'credit_voided'
  | 'invalid_amount'
  | 'invalid_service'
  | 'invalid_plan'
  | 'invalid_argument'
  | 'idempotency_conflict';

export class LedgerError extends Error {
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'LedgerError';
  }
}

/** The ledger file cannot be opened: its directory is missing, it is not an SQLite database, or it is locked. */
export class LedgerOpenError extends Error {
  readonly code = 'ledger_open';
  constructor(path: string, cause: Error) {
    super(`cannot open the ledger ${path}: ${cause.message}`, { cause });
    this.name = 'LedgerOpenError';
  }
}
