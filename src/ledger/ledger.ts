/**
 * The ledger's contract: everything the service, the bulk runner and the admin CLI may ask of it. Narrow on
 * purpose, so that a PostgreSQL implementation can stand beside the SQLite one.
 */

export const plans = ['free', 'basic', 'standard'] as const;
export type Plan = (typeof plans)[number];

/** The vendor's credit services. A verification draws on smartcheck records first, then on api records. */
export const creditServices = ['smartcheck', 'smartaccess', 'smartenroll', 'api', 'biometric'] as const;
export type CreditService = (typeof creditServices)[number];
export const verificationServices: readonly CreditService[] = ['smartcheck', 'api'];

/** Free plans re-verify a company at no cost for seven days. */
export const freeGracePeriodMs = 7 * 24 * 3_600_000;
/** Paid plans until the subscription ends, and never longer than a year. */
export const paidGracePeriodMaxMs = 365 * 24 * 3_600_000;
/** The largest grant accepted at once: far above any real purchase, far below integer trouble. */
export const grantAmountMax = 1_000_000_000;

export interface Account {
  id: string;
  name: string;
  plan: Plan;
  /** Balances whose downward crossing raises a `balance.below_threshold` event. */
  balanceThresholds: number[];
  /** Epoch ms; paid plans only. */
  subscriptionEndsAt: number | null;
  createdAt: number;
}

export interface ApiKeyInfo {
  id: string;
  accountId: string;
  staff: string;
  monthlyBudget: number | null;
  revokedAt: number | null;
  createdAt: number;
}

/**
 * A credit record exactly as the vendor's API shows it. Voiding or expiry withdraws what is left: `remaining`
 * becomes 0 and `amount` shrinks by it, so `used + remaining = amount` always holds and `used` keeps meaning
 * "consumed by verifications". The grant entry keeps the amount bought.
 */
/**
 * Not in the vendor's object, added so a list can be filtered: `active` can be drawn on; `depleted` is used up;
 * `expired` is past `expiresAt` (whether or not the expiry pass has run); `voided` was withdrawn.
 */
export const creditStatuses = ['active', 'depleted', 'expired', 'voided'] as const;
export type CreditStatus = (typeof creditStatuses)[number];

export interface CreditRecord {
  id: string;
  amount: number;
  used: number;
  remaining: number;
  expiresAt: string | null;
  service: CreditService;
  description: string;
  createdAt: string;
  updatedAt: string;
  status: CreditStatus;
}

export interface GrantRequest {
  accountId: string;
  amount: number;
  service?: CreditService;
  description?: string;
  /** Epoch ms; null for credits that never expire. */
  expiresAt?: number | null;
  /** Lower numbers are drawn first. Default 0. */
  priority?: number;
}

export type MatchOutcome = 'exactly_matched' | 'loosely_matched' | 'not_found';

export interface VerificationRequest {
  accountId: string;
  keyId: string;
  endpoint: string;
  /** The company answered; null when nothing was found. */
  ceId: string | null;
  matchType: MatchOutcome;
}

/** Idempotency keys are kept at least this long. */
export const idempotencyKeyRetentionMs = 24 * 3_600_000;

/** Replay protection for a write: the same key and fingerprint replay the stored result. */
export interface Idempotency {
  key: string;
  /** A digest of the request; the same key with another fingerprint is a conflict. */
  fingerprint: string;
}

/** What a verification cost, and why. */
export interface VerificationCharge {
  /** True when this is the stored answer to an earlier request with the same idempotency key. */
  replayed?: boolean;
  verificationId: number;
  creditsCharged: number;
  /** Credits charged beyond the account's balance (paid plans only). */
  overage: number;
  reason: 'charged' | 'loose_match' | 'not_found' | 'grace_period';
  /** Usable credits left on the account after this verification. */
  remaining: number;
}

/** Credits expiring within this window raise one `credits.expiring_soon` event per record. */
export const expiringSoonWindowMs = 7 * 24 * 3_600_000;
export const defaultBalanceThresholds: readonly number[] = [10];

export type LedgerEventType =
  | 'credits.granted'
  | 'balance.below_threshold'
  | 'balance.depleted'
  | 'credits.expiring_soon'
  | 'credits.expired'
  | 'budget.exceeded';

/** An outbox event for webhooks; its id is derived from its cause, so it is stable across retries. */
export interface LedgerEvent {
  /** Position in the outbox, for reading it in order. */
  sequence: number;
  id: string;
  accountId: string;
  type: LedgerEventType;
  payload: Record<string, unknown>;
  createdAt: string;
}

export interface UsageRow {
  group: string;
  verifications: number;
  charged: number;
  credits: number;
  overage: number;
}

export interface LedgerCheckReport {
  recordsChecked: number;
  differences: {
    creditId: string;
    stored: { used: number; remaining: number };
    fromEntries: { used: number; remaining: number };
  }[];
}

export interface Ledger {
  createAccount(input: {
    name: string;
    plan: Plan;
    subscriptionEndsAt?: number | null;
    balanceThresholds?: number[];
  }): Promise<Account>;
  /** Accounts with exactly this name, oldest first. */
  accountsNamed(name: string): Account[];
  /** Returns the key's secret once; only its hash is stored. */
  createApiKey(input: {
    accountId: string;
    staff?: string;
    monthlyBudget?: number | null;
  }): Promise<{ key: ApiKeyInfo; secret: string }>;
  revokeApiKey(keyId: string): Promise<ApiKeyInfo>;
  /** The key a secret belongs to, if it exists and is not revoked. */
  authenticate(secret: string): ApiKeyInfo | undefined;
  /** With an idempotency key, a retried purchase replays the first grant instead of granting twice. */
  grantCredits(request: GrantRequest, idempotency?: Idempotency): Promise<CreditRecord>;
  voidCredit(creditId: string): Promise<CreditRecord>;
  listCredits(accountId: string): CreditRecord[];
  getCredit(accountId: string, creditId: string): CreditRecord | undefined;
  /** Whether re-verifying this company now is free for the account (a quote; nothing is written). */
  inGracePeriod(accountId: string, ceId: string): boolean;
  /** Usable credits of an account for verifications now. */
  balance(accountId: string): number;
  /** Records a verification and charges it by the registry's rules; atomic and durable when it resolves. */
  recordVerification(request: VerificationRequest, idempotency?: Idempotency): Promise<VerificationCharge>;
  /** Drops idempotency keys older than the retention (24 h); returns how many. */
  purgeIdempotencyKeys(): Promise<number>;
  /** Writes one expiry entry per record past its expiry; safe to run twice or alongside debits. */
  expireCredits(): Promise<number>;
  /** Outbox events after a sequence number, oldest first. */
  events(afterSequence?: number, limit?: number): LedgerEvent[];
  /** Verifications of an account between two instants (epoch ms), grouped by UTC day, staff user, endpoint or the service whose credits paid for them ('none' for free ones). */
  usage(
    accountId: string,
    options: { from?: number; to?: number; by: 'day' | 'staff' | 'endpoint' | 'service' },
  ): UsageRow[];
  /** Recomputes every record's used and remaining from the entries. */
  check(): LedgerCheckReport;
  /** Drains the write queue and closes the database. */
  close(): Promise<void>;
}
