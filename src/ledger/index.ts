/**
 * The credit ledger: accounts and plans, API keys, credit records, and charging verifications by the
 * registry's rules. The one front door; the SQLite implementation is the only one so far.
 *
 * @example
 * ```ts
 * const ledger = new SqliteLedger('ledger.db');
 * const account = await ledger.createAccount({ name: 'Acme', plan: 'free' });
 * const { key } = await ledger.createApiKey({ accountId: account.id });
 * await ledger.grantCredits({ accountId: account.id, amount: 100 });
 * await ledger.recordVerification({ accountId: account.id, keyId: key.id, endpoint: '/company',
 *   ceId: 'ce_KMi1zsb9CH2EorSzOJ9YEgtV', matchType: 'exactly_matched' }); // { creditsCharged: 1, ... }
 * ```
 */
export { LedgerError, type LedgerErrorCode, LedgerOpenError } from './errors.js';
export * from './ledger.js';
export { SqliteLedger, type SqliteLedgerOptions } from './sqlite-ledger.js';
