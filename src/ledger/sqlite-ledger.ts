/**
 * The SQLite ledger: credits as integers, every write through the group-commit writer, entries append-only.
 *
 * Invariants, enforced by the schema and re-checked by `check()`:
 * - for every credit record `used + remaining = amount` and `0 ≤ remaining`;
 * - `used` and `remaining` can be recomputed from the entries (grant +amount; debit, void and expiry −n);
 * - one credit per company per account per grace period.
 */
import { createHash, randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { LedgerError, LedgerOpenError } from './errors.js';
import { GroupCommitWriter } from './group-commit-writer.js';
import {
  type Account,
  type ApiKeyInfo,
  type CreditRecord,
  type CreditService,
  type CreditStatus,
  creditServices,
  defaultBalanceThresholds,
  expiringSoonWindowMs,
  freeGracePeriodMs,
  type GrantRequest,
  grantAmountMax,
  type Idempotency,
  idempotencyKeyRetentionMs,
  type Ledger,
  type LedgerCheckReport,
  type LedgerEvent,
  type LedgerEventType,
  type Plan,
  paidGracePeriodMaxMs,
  plans,
  type UsageRow,
  type VerificationCharge,
  type VerificationRequest,
  verificationServices,
} from './ledger.js';

export interface SqliteLedgerOptions {
  /** The clock, in epoch ms; injected so tests can move time. */
  now?: () => number;
}

const schema = `
CREATE TABLE IF NOT EXISTS accounts (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  plan TEXT NOT NULL CHECK (plan IN ('free', 'basic', 'standard')),
  subscription_ends_at INTEGER,
  balance_thresholds TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  staff TEXT NOT NULL,
  secret_hash TEXT NOT NULL UNIQUE,
  monthly_budget INTEGER CHECK (monthly_budget IS NULL OR monthly_budget >= 0),
  revoked_at INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_records (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL REFERENCES accounts (id),
  -- A grant is positive (entries enforce it); voiding or expiry can bring what a record holds down to 0.
  amount INTEGER NOT NULL CHECK (amount >= 0),
  used INTEGER NOT NULL CHECK (used >= 0),
  remaining INTEGER NOT NULL CHECK (remaining >= 0),
  service TEXT NOT NULL,
  description TEXT NOT NULL,
  priority INTEGER NOT NULL,
  expires_at INTEGER,
  voided_at INTEGER,
  expired_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  CHECK (used + remaining = amount)
);
CREATE INDEX IF NOT EXISTS credit_records_by_account ON credit_records (account_id);
CREATE TABLE IF NOT EXISTS entries (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  credit_id TEXT NOT NULL REFERENCES credit_records (id),
  -- Comparisons, not IN (...): SQLite checks an IN list through a temporary table it builds for every row
  -- inserted, which was ~10% of a charge's instructions.
  kind TEXT NOT NULL CHECK (kind = 'grant' OR kind = 'debit' OR kind = 'void' OR kind = 'expiry'),
  amount INTEGER NOT NULL CHECK (amount > 0),
  verification_id INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_credit ON entries (credit_id);
CREATE UNIQUE INDEX IF NOT EXISTS one_expiry_per_record ON entries (credit_id) WHERE kind = 'expiry';
CREATE TRIGGER IF NOT EXISTS entries_are_append_only_update BEFORE UPDATE ON entries
  BEGIN SELECT RAISE (ABORT, 'entries are append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_are_append_only_delete BEFORE DELETE ON entries
  BEGIN SELECT RAISE (ABORT, 'entries are append-only'); END;
CREATE TABLE IF NOT EXISTS verifications (
  id INTEGER PRIMARY KEY,
  account_id TEXT NOT NULL,
  key_id TEXT NOT NULL,
  endpoint TEXT NOT NULL,
  ce_id TEXT,
  match_type TEXT NOT NULL,
  credits INTEGER NOT NULL,
  overage INTEGER NOT NULL,
  reason TEXT NOT NULL,
  -- Set on charged verifications: re-verifying the company before this instant is free.
  grace_until INTEGER,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS verifications_by_key_and_time ON verifications (key_id, created_at);
CREATE INDEX IF NOT EXISTS verifications_grace ON verifications (account_id, ce_id, grace_until)
  WHERE grace_until IS NOT NULL;
CREATE TABLE IF NOT EXISTS outbox (
  sequence INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  account_id TEXT NOT NULL,
  type TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  account_id TEXT NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  result TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (account_id, key)
);
`;

/**
 * Records a verification may draw on now, in the order it draws: smartcheck before api, then priority (lower
 * first), earliest expiry (none last), creation. Built once: rebuilding the text per charge cost 10% of it.
 */
const usableRecordsSql = `SELECT * FROM credit_records
  WHERE account_id = ? AND remaining > 0 AND voided_at IS NULL AND (expires_at IS NULL OR expires_at > ?)
    AND service IN (${verificationServices.map(() => '?').join(', ')})
  ORDER BY CASE service WHEN 'smartcheck' THEN 0 ELSE 1 END, priority, expires_at IS NULL, expires_at, created_at, id`;

interface CreditRow {
  id: string;
  account_id: string;
  amount: number;
  used: number;
  remaining: number;
  service: CreditService;
  description: string;
  priority: number;
  expires_at: number | null;
  voided_at: number | null;
  expired_at: number | null;
  created_at: number;
  updated_at: number;
}

function randomId(prefix: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = prefix;
  for (const byte of randomBytes(24)) id += alphabet[byte % alphabet.length];
  return id;
}

/**
 * Opens the ledger's file in WAL mode. better-sqlite3 says what is wrong (no such directory, not a database,
 * locked) but not with which file, so its errors become a {@link LedgerOpenError} naming it.
 */
function openLedgerFile(path: string): Database.Database {
  let database: Database.Database | undefined;
  try {
    database = new Database(path);
    database.pragma('journal_mode = WAL');
    return database;
  } catch (error) {
    database?.close();
    throw new LedgerOpenError(path, error as Error);
  }
}

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

interface AccountRow {
  id: string;
  name: string;
  plan: Plan;
  subscription_ends_at: number | null;
  balance_thresholds: string;
  created_at: number;
}

function toAccount(row: AccountRow): Account {
  return {
    id: row.id,
    name: row.name,
    plan: row.plan,
    balanceThresholds: JSON.parse(row.balance_thresholds) as number[],
    subscriptionEndsAt: row.subscription_ends_at,
    createdAt: row.created_at,
  };
}

function creditStatusOf(row: CreditRow, now: number): CreditStatus {
  if (row.voided_at !== null) return 'voided';
  if (row.expired_at !== null || (row.expires_at !== null && row.expires_at <= now)) return 'expired';
  return row.remaining === 0 ? 'depleted' : 'active';
}

function toCreditRecord(row: CreditRow, now: number): CreditRecord {
  return {
    id: row.id,
    amount: row.amount,
    used: row.used,
    remaining: row.remaining,
    expiresAt: iso(row.expires_at),
    service: row.service,
    description: row.description,
    createdAt: iso(row.created_at) as string,
    updatedAt: iso(row.updated_at) as string,
    status: creditStatusOf(row, now),
  };
}

/** Entries in the authentication cache before it starts afresh. */
const authCacheMax = 10_000;

function checkIdempotency(idempotency: Idempotency | undefined): void {
  if (
    idempotency &&
    (typeof idempotency.key !== 'string' || idempotency.key.length === 0 || idempotency.key.length > 255)
  ) {
    throw new LedgerError('invalid_argument', 'an idempotency key is 1 to 255 characters');
  }
}

function requireInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new LedgerError(
      'invalid_amount',
      `${what} must be an integer from ${min} to ${max}, got ${String(value)}`,
    );
  }
  return value;
}

/** Start of the calendar month (UTC) containing `at`, for monthly budgets. */
function monthStart(at: number): number {
  const date = new Date(at);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
}

export class SqliteLedger implements Ledger {
  readonly #database: Database.Database;
  readonly #writer: GroupCommitWriter;
  readonly #now: () => number;

  /** Opens (and creates when missing) a ledger database. */
  constructor(path: string, options: SqliteLedgerOptions = {}) {
    this.#database = openLedgerFile(path);
    this.#database.pragma('synchronous = FULL');
    this.#database.pragma('foreign_keys = ON');
    this.#database.pragma('busy_timeout = 5000');
    this.#database.exec(schema);
    this.#writer = new GroupCommitWriter(this.#database, {
      isRefusal: (error) => error instanceof LedgerError,
      beforeBatch: () => {
        this.#usableCache.clear(); // kept for one batch only
        this.#dropCachesIfChangedElsewhere();
      },
      afterRollback: () => this.#dropCaches(),
    });
    this.#now = options.now ?? Date.now;
  }

  readonly #statements = new Map<string, Database.Statement>();
  /**
   * Accounts and keys as the writer last read or wrote them. Another process (the admin CLI) may change them:
   * `PRAGMA data_version` moves when another connection commits, and the caches are dropped then. Reading
   * them from SQLite cost two statements of a charge's ~ten.
   */
  readonly #accountCache = new Map<string, Account>();
  readonly #keyCache = new Map<string, ApiKeyInfo>();
  #dataVersion = -1;

  /**
   * Each account's usable credit records, read once per batch (on its first charge) and updated in place by
   * the batch's debits; any other change to credit records drops them. Reading them per charge cost a fifth
   * of it.
   */
  readonly #usableCache = new Map<string, { readAt: number; rows: CreditRow[] }>();

  #dropCaches(): void {
    this.#accountCache.clear();
    this.#keyCache.clear();
    this.#usableCache.clear();
    this.#authCache.clear();
  }

  /** Drops every cache when another connection (the admin CLI) has committed since the last look. */
  #dropCachesIfChangedElsewhere(): void {
    const version = this.#prepare('PRAGMA data_version').pluck().get() as number;
    if (version !== this.#dataVersion) this.#dropCaches();
    this.#dataVersion = version;
  }

  /**
   * A prepared statement, compiled once per SQL text. Preparing is SQLite's costly step; re-preparing ten
   * statements per charge held the writer to ~6.6k charges/s.
   */
  #prepare(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#database.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Writes waiting in the single writer's queue. */
  get queueDepth(): number {
    return this.#writer.queueDepth;
  }

  createAccount(input: {
    name: string;
    plan: Plan;
    subscriptionEndsAt?: number | null;
    balanceThresholds?: number[];
  }): Promise<Account> {
    if (typeof input.name !== 'string' || input.name.trim() === '' || input.name.length > 200) {
      return Promise.reject(
        new LedgerError('invalid_argument', 'an account name of 1 to 200 characters is required'),
      );
    }
    if (!(plans as readonly string[]).includes(input.plan)) {
      return Promise.reject(new LedgerError('invalid_plan', `plan must be one of ${plans.join(', ')}`));
    }
    const balanceThresholds = input.balanceThresholds ?? [...defaultBalanceThresholds];
    const thresholdsValid =
      Array.isArray(balanceThresholds) &&
      balanceThresholds.length <= 10 &&
      balanceThresholds.every((t) => Number.isInteger(t) && t >= 1 && t <= grantAmountMax);
    if (!thresholdsValid) {
      return Promise.reject(
        new LedgerError('invalid_argument', 'balance thresholds are up to 10 positive integers'),
      );
    }
    const createdAt = this.#now();
    const subscriptionEndsAt =
      input.plan === 'free' ? null : (input.subscriptionEndsAt ?? createdAt + paidGracePeriodMaxMs);
    const account: Account = {
      id: randomId('acct_'),
      name: input.name,
      plan: input.plan,
      balanceThresholds: [...balanceThresholds].sort((a, b) => b - a),
      subscriptionEndsAt,
      createdAt,
    };
    return this.#writer.submit(() => {
      this.#prepare(
        'INSERT INTO accounts (id, name, plan, subscription_ends_at, balance_thresholds, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(
        account.id,
        account.name,
        account.plan,
        account.subscriptionEndsAt,
        JSON.stringify(account.balanceThresholds),
        account.createdAt,
      );
      return account;
    });
  }

  /** An account, from the writer's cache when it has it. Only ever called inside a writer operation. */
  #account(accountId: string): Account {
    const cached = this.#accountCache.get(accountId);
    if (cached) return cached;
    const row = this.#prepare('SELECT * FROM accounts WHERE id = ?').get(accountId) as AccountRow | undefined;
    if (!row) throw new LedgerError('unknown_account', `no account ${accountId}`);
    const account = toAccount(row);
    this.#accountCache.set(account.id, account);
    return account;
  }

  accountsNamed(name: string): Account[] {
    return (
      this.#prepare('SELECT * FROM accounts WHERE name = ? ORDER BY created_at, id').all(name) as AccountRow[]
    ).map(toAccount);
  }

  /** Writes an outbox event in the current transaction; an id already written is kept, not duplicated. */
  #event(id: string, accountId: string, type: LedgerEventType, payload: Record<string, unknown>): void {
    this.#prepare(
      'INSERT OR IGNORE INTO outbox (id, account_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(id, accountId, type, JSON.stringify(payload), this.#now());
  }

  createApiKey(input: {
    accountId: string;
    staff?: string;
    monthlyBudget?: number | null;
  }): Promise<{ key: ApiKeyInfo; secret: string }> {
    const monthlyBudget = input.monthlyBudget ?? null;
    try {
      if (monthlyBudget !== null) requireInteger(monthlyBudget, 'monthly budget', 0, grantAmountMax);
    } catch (error) {
      return Promise.reject(error);
    }
    const secret = `cm_${randomId('')}${randomId('')}`;
    const key: ApiKeyInfo = {
      id: randomId('key_'),
      accountId: input.accountId,
      staff: input.staff?.trim() || 'default',
      monthlyBudget,
      revokedAt: null,
      createdAt: this.#now(),
    };
    return this.#writer.submit(() => {
      this.#account(input.accountId);
      this.#prepare(
        'INSERT INTO api_keys (id, account_id, staff, secret_hash, monthly_budget, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(key.id, key.accountId, key.staff, hashSecret(secret), key.monthlyBudget, key.createdAt);
      this.#authCache.clear();
      return { key, secret };
    });
  }

  revokeApiKey(keyId: string): Promise<ApiKeyInfo> {
    return this.#writer.submit(() => {
      const key = this.#key(keyId);
      if (key.revokedAt !== null) throw new LedgerError('key_revoked', `key ${keyId} is already revoked`);
      const revokedAt = this.#now();
      this.#prepare('UPDATE api_keys SET revoked_at = ? WHERE id = ?').run(revokedAt, keyId);
      this.#authCache.clear();
      const revoked = { ...key, revokedAt };
      this.#keyCache.set(keyId, revoked);
      return revoked;
    });
  }

  /** A key, from the writer's cache when it has it. Only ever called inside a writer operation. */
  #key(keyId: string): ApiKeyInfo {
    const cached = this.#keyCache.get(keyId);
    if (cached) return cached;
    const row = this.#prepare('SELECT * FROM api_keys WHERE id = ?').get(keyId) as KeyRow | undefined;
    if (!row) throw new LedgerError('unknown_key', `no key ${keyId}`);
    const key = toKeyInfo(row);
    this.#keyCache.set(keyId, key);
    return key;
  }

  /**
   * Keys by the hash of their secret, as `authenticate` last read them (null: no such live key). Dropped when
   * this ledger creates or revokes a key, and whenever another connection (the admin CLI) commits. Reading
   * the key per request cost 5% of a verification's main-thread time.
   */
  readonly #authCache = new Map<string, ApiKeyInfo | null>();

  authenticate(secret: string): ApiKeyInfo | undefined {
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 200) return undefined;
    this.#dropCachesIfChangedElsewhere();
    // Bounded, so a flood of made-up keys cannot grow it without limit.
    if (this.#authCache.size >= authCacheMax) this.#authCache.clear();
    const hash = hashSecret(secret);
    let key = this.#authCache.get(hash);
    if (key === undefined) {
      const row = this.#prepare('SELECT * FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL').get(
        hash,
      ) as KeyRow | undefined;
      key = row ? toKeyInfo(row) : null;
      this.#authCache.set(hash, key);
    }
    return key ?? undefined;
  }

  grantCredits(request: GrantRequest, idempotency?: Idempotency): Promise<CreditRecord> {
    let record: CreditRow;
    try {
      checkIdempotency(idempotency);
      const now = this.#now();
      const service = request.service ?? 'smartcheck';
      if (!(creditServices as readonly string[]).includes(service)) {
        throw new LedgerError('invalid_service', `service must be one of ${creditServices.join(', ')}`);
      }
      const expiresAt = request.expiresAt ?? null;
      if (expiresAt !== null && (!Number.isFinite(expiresAt) || expiresAt <= now)) {
        throw new LedgerError('invalid_argument', 'expiresAt must be in the future');
      }
      record = {
        id: randomId('credit_'),
        account_id: request.accountId,
        amount: requireInteger(request.amount, 'amount', 1, grantAmountMax),
        used: 0,
        remaining: request.amount,
        service,
        description: request.description ?? `${service} credits`,
        priority: requireInteger(request.priority ?? 0, 'priority', -1_000_000, 1_000_000),
        expires_at: expiresAt,
        voided_at: null,
        expired_at: null,
        created_at: now,
        updated_at: now,
      };
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer.submit(() =>
      this.#once(record.account_id, idempotency, () => this.#grant(record)),
    ) as Promise<CreditRecord>;
  }

  #grant(record: CreditRow): CreditRecord {
    this.#account(record.account_id);
    this.#usableCache.delete(record.account_id);
    this.#prepare(
      `INSERT INTO credit_records (id, account_id, amount, used, remaining, service, description, priority, expires_at, created_at, updated_at)
         VALUES (@id, @account_id, @amount, @used, @remaining, @service, @description, @priority, @expires_at, @created_at, @updated_at)`,
    ).run(record);
    this.#entry(record.account_id, record.id, 'grant', record.amount, null);
    const granted = toCreditRecord(record, record.created_at);
    this.#event(`evt_granted_${record.id}`, record.account_id, 'credits.granted', { credit: granted });
    return granted;
  }

  #entry(
    accountId: string,
    creditId: string,
    kind: 'grant' | 'debit' | 'void' | 'expiry',
    amount: number,
    verificationId: number | null,
  ): void {
    this.#prepare(
      'INSERT INTO entries (account_id, credit_id, kind, amount, verification_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    ).run(accountId, creditId, kind, amount, verificationId, this.#now());
  }

  voidCredit(creditId: string): Promise<CreditRecord> {
    return this.#writer.submit(() => {
      const row = this.#prepare('SELECT * FROM credit_records WHERE id = ?').get(creditId) as
        | CreditRow
        | undefined;
      if (!row) throw new LedgerError('credit_not_found', 'Credit not found');
      if (row.voided_at !== null)
        throw new LedgerError('credit_voided', `credit ${creditId} is already void`);
      const now = this.#now();
      // Voiding takes what is left out of circulation; what was used stays used.
      this.#usableCache.clear(); // records change outside a debit
      this.#prepare(
        'UPDATE credit_records SET voided_at = ?, amount = amount - remaining, remaining = 0, updated_at = ? WHERE id = ?',
      ).run(now, now, creditId);
      if (row.remaining > 0) this.#entry(row.account_id, creditId, 'void', row.remaining, null);
      return toCreditRecord(
        this.#prepare('SELECT * FROM credit_records WHERE id = ?').get(creditId) as CreditRow,
        now,
      );
    });
  }

  listCredits(accountId: string): CreditRecord[] {
    const rows = this.#prepare(
      'SELECT * FROM credit_records WHERE account_id = ? ORDER BY created_at, id',
    ).all(accountId) as CreditRow[];
    const now = this.#now();
    return rows.map((row) => toCreditRecord(row, now));
  }

  getCredit(accountId: string, creditId: string): CreditRecord | undefined {
    const row = this.#prepare('SELECT * FROM credit_records WHERE id = ? AND account_id = ?').get(
      creditId,
      accountId,
    ) as CreditRow | undefined;
    return row ? toCreditRecord(row, this.#now()) : undefined;
  }

  /** Records usable for a verification now, in the order they are drawn on. */
  #usableRecords(accountId: string, now: number): CreditRow[] {
    const read = () =>
      this.#prepare(usableRecordsSql).all(accountId, now, ...verificationServices) as CreditRow[];
    // Outside the writer's transaction, another connection may have changed them: read them afresh.
    if (!this.#database.inTransaction) return read();
    let cached = this.#usableCache.get(accountId);
    if (cached === undefined || now < cached.readAt) {
      cached = { readAt: now, rows: read() };
      this.#usableCache.set(accountId, cached);
    }
    // The batch's debits changed the cached rows in place; a record may also have expired since they were read.
    return cached.rows.filter(
      (row) => row.remaining > 0 && (row.expires_at === null || row.expires_at > now),
    );
  }

  inGracePeriod(accountId: string, ceId: string): boolean {
    return (
      this.#prepare(
        'SELECT 1 FROM verifications WHERE account_id = ? AND ce_id = ? AND grace_until > ? LIMIT 1',
      ).get(accountId, ceId, this.#now()) !== undefined
    );
  }

  balance(accountId: string): number {
    return this.#usableRecords(accountId, this.#now()).reduce((sum, row) => sum + row.remaining, 0);
  }

  recordVerification(request: VerificationRequest, idempotency?: Idempotency): Promise<VerificationCharge> {
    try {
      checkIdempotency(idempotency);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#writer
      .submit(() => this.#once(request.accountId, idempotency, () => this.#charge(request)))
      .then((outcome) => {
        if (outcome instanceof LedgerError) throw outcome;
        return outcome;
      });
  }

  /**
   * Runs a write once per idempotency key: the same key with the same fingerprint returns the stored result,
   * marked `replayed`, and writes nothing; another fingerprint is a conflict. The key is stored in the write's
   * own transaction, so a replay can never see a write that did not commit, or miss one that did. A refusal
   * returned (not thrown) is not stored: retrying it may succeed later.
   */
  #once<T extends object>(
    accountId: string,
    idempotency: Idempotency | undefined,
    write: () => T | LedgerError,
  ): (T & { replayed?: boolean }) | LedgerError {
    if (!idempotency) return write();
    const stored = this.#prepare(
      'SELECT fingerprint, result FROM idempotency_keys WHERE account_id = ? AND key = ?',
    ).get(accountId, idempotency.key) as { fingerprint: string; result: string } | undefined;
    if (stored) {
      if (stored.fingerprint !== idempotency.fingerprint) {
        throw new LedgerError(
          'idempotency_conflict',
          `idempotency key ${idempotency.key} was used for another request`,
        );
      }
      return { ...(JSON.parse(stored.result) as T), replayed: true };
    }
    const result = write();
    if (result instanceof LedgerError) return result;
    this.#prepare(
      'INSERT INTO idempotency_keys (account_id, key, fingerprint, result, created_at) VALUES (?, ?, ?, ?, ?)',
    ).run(accountId, idempotency.key, idempotency.fingerprint, JSON.stringify(result), this.#now());
    return result;
  }

  purgeIdempotencyKeys(): Promise<number> {
    return this.#writer.submit(
      () =>
        this.#prepare('DELETE FROM idempotency_keys WHERE created_at < ?').run(
          this.#now() - idempotencyKeyRetentionMs,
        ).changes,
    );
  }

  /** The seed's decision, in its order: not found and loose matches are free; then the grace period; then one credit. */
  #charge(request: VerificationRequest): VerificationCharge | LedgerError {
    const now = this.#now();
    const account = this.#account(request.accountId);
    const key = this.#key(request.keyId);
    if (key.accountId !== account.id)
      throw new LedgerError('unknown_key', `key ${key.id} belongs to another account`);
    if (key.revokedAt !== null) throw new LedgerError('key_revoked', `key ${key.id} is revoked`);
    const free = (reason: VerificationCharge['reason']): VerificationCharge => {
      const verificationId = this.#verification(request, 0, 0, reason, now);
      return { verificationId, creditsCharged: 0, overage: 0, reason, remaining: this.balance(account.id) };
    };
    if (request.matchType === 'not_found' || request.ceId === null) return free('not_found');
    if (request.matchType === 'loosely_matched') return free('loose_match');
    const inGrace = this.#prepare(
      'SELECT 1 FROM verifications WHERE account_id = ? AND ce_id = ? AND grace_until > ? LIMIT 1',
    ).get(account.id, request.ceId, now);
    if (inGrace) return free('grace_period');
    if (key.monthlyBudget !== null) {
      const spent = this.#prepare(
        'SELECT COALESCE(SUM(credits), 0) AS spent FROM verifications WHERE key_id = ? AND created_at >= ?',
      ).get(key.id, monthStart(now)) as { spent: number };
      if (spent.spent + 1 > key.monthlyBudget) {
        // Returned, not thrown: the event must commit although the verification is refused.
        this.#event(`evt_budget_${key.id}_${monthStart(now)}`, account.id, 'budget.exceeded', {
          keyId: key.id,
          staff: key.staff,
          monthlyBudget: key.monthlyBudget,
        });
        return new LedgerError(
          'budget_exceeded',
          `key ${key.id} has used ${spent.spent} of its monthly budget of ${key.monthlyBudget}`,
        );
      }
    }
    const usable = this.#usableRecords(account.id, now);
    const available = usable.reduce((sum, row) => sum + row.remaining, 0);
    const creditsCharged = 1;
    if (available < creditsCharged && account.plan === 'free') {
      throw new LedgerError('insufficient_credit', 'the account has no credits left');
    }
    const drawn = Math.min(available, creditsCharged);
    const overage = creditsCharged - drawn;
    const graceUntil =
      account.plan === 'free'
        ? now + freeGracePeriodMs
        : Math.min(account.subscriptionEndsAt ?? now + paidGracePeriodMaxMs, now + paidGracePeriodMaxMs);
    const verificationId = this.#verification(request, creditsCharged, overage, 'charged', now, graceUntil);
    let toDraw = drawn;
    for (const row of usable) {
      if (toDraw === 0) break;
      const take = Math.min(row.remaining, toDraw);
      this.#prepare(
        'UPDATE credit_records SET used = used + ?, remaining = remaining - ?, updated_at = ? WHERE id = ?',
      ).run(take, take, now, row.id);
      row.used += take;
      row.remaining -= take;
      row.updated_at = now;
      this.#entry(account.id, row.id, 'debit', take, verificationId);
      toDraw -= take;
    }
    const remaining = available - drawn;
    for (const threshold of account.balanceThresholds) {
      if (available >= threshold && remaining < threshold) {
        this.#event(`evt_below_${verificationId}_${threshold}`, account.id, 'balance.below_threshold', {
          threshold,
          balance: remaining,
        });
      }
    }
    if (available > 0 && remaining === 0) {
      this.#event(`evt_depleted_${verificationId}`, account.id, 'balance.depleted', { balance: 0 });
    }
    return { verificationId, creditsCharged, overage, reason: 'charged', remaining };
  }

  #verification(
    request: VerificationRequest,
    credits: number,
    overage: number,
    reason: string,
    now: number,
    graceUntil: number | null = null,
  ): number {
    const result = this.#prepare(
      'INSERT INTO verifications (account_id, key_id, endpoint, ce_id, match_type, credits, overage, reason, grace_until, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    ).run(
      request.accountId,
      request.keyId,
      request.endpoint,
      request.ceId,
      request.matchType,
      credits,
      overage,
      reason,
      graceUntil,
      now,
    );
    return Number(result.lastInsertRowid);
  }

  expireCredits(): Promise<number> {
    return this.#writer.submit(() => {
      const now = this.#now();
      // Records about to expire with credits left: one event per record (its id is the record's), however
      // often the pass runs.
      const soon = this.#prepare(
        'SELECT * FROM credit_records WHERE expires_at > ? AND expires_at <= ? AND remaining > 0 AND voided_at IS NULL',
      ).all(now, now + expiringSoonWindowMs) as CreditRow[];
      for (const row of soon) {
        this.#event(`evt_expiring_${row.id}`, row.account_id, 'credits.expiring_soon', {
          credit: toCreditRecord(row, now),
        });
      }
      const due = this.#prepare(
        'SELECT * FROM credit_records WHERE expires_at <= ? AND expired_at IS NULL AND voided_at IS NULL',
      ).all(now) as CreditRow[];
      for (const row of due) {
        this.#usableCache.clear(); // records change outside a debit
        this.#prepare(
          'UPDATE credit_records SET expired_at = ?, amount = amount - remaining, remaining = 0, updated_at = ? WHERE id = ?',
        ).run(now, now, row.id);
        if (row.remaining > 0) this.#entry(row.account_id, row.id, 'expiry', row.remaining, null);
        // Only a record that still held credits is news; an empty one expires silently.
        if (row.remaining > 0) {
          this.#event(`evt_expired_${row.id}`, row.account_id, 'credits.expired', {
            creditId: row.id,
            withdrawn: row.remaining,
          });
        }
      }
      return due.length;
    });
  }

  events(afterSequence = 0, limit = 100): LedgerEvent[] {
    const rows = this.#prepare('SELECT * FROM outbox WHERE sequence > ? ORDER BY sequence LIMIT ?').all(
      afterSequence,
      Math.min(Math.max(1, limit), 1000),
    ) as {
      sequence: number;
      id: string;
      account_id: string;
      type: LedgerEventType;
      payload: string;
      created_at: number;
    }[];
    return rows.map((row) => ({
      sequence: row.sequence,
      id: row.id,
      accountId: row.account_id,
      type: row.type,
      payload: JSON.parse(row.payload) as Record<string, unknown>,
      createdAt: iso(row.created_at) as string,
    }));
  }

  usage(
    accountId: string,
    options: { from?: number; to?: number; by: 'day' | 'staff' | 'endpoint' | 'service' },
  ): UsageRow[] {
    const group = {
      day: "strftime('%Y-%m-%d', v.created_at / 1000, 'unixepoch')",
      staff: 'k.staff',
      endpoint: 'v.endpoint',
      // The service whose credits paid for it; 'none' for free verifications (and pure overage).
      service: `COALESCE((SELECT r.service FROM entries e JOIN credit_records r ON r.id = e.credit_id
                          WHERE e.verification_id = v.id AND e.kind = 'debit' LIMIT 1), 'none')`,
    }[options.by];
    return this.#prepare(
      `SELECT ${group} AS "group", COUNT(*) AS verifications, SUM(v.credits > 0) AS charged,
              SUM(v.credits) AS credits, SUM(v.overage) AS overage
       FROM verifications v JOIN api_keys k ON k.id = v.key_id
       WHERE v.account_id = ? AND v.created_at >= ? AND v.created_at < ?
       GROUP BY 1 ORDER BY 1`,
    ).all(accountId, options.from ?? 0, options.to ?? Number.MAX_SAFE_INTEGER) as UsageRow[];
  }

  check(): LedgerCheckReport {
    const rows = this.#prepare(
      `SELECT r.id, r.amount, r.used, r.remaining,
                COALESCE(SUM(CASE e.kind WHEN 'grant' THEN e.amount END), 0) AS granted,
                COALESCE(SUM(CASE e.kind WHEN 'debit' THEN e.amount END), 0) AS debited,
                COALESCE(SUM(CASE WHEN e.kind IN ('void', 'expiry') THEN e.amount END), 0) AS withdrawn
         FROM credit_records r LEFT JOIN entries e ON e.credit_id = r.id GROUP BY r.id`,
    ).all() as {
      id: string;
      amount: number;
      used: number;
      remaining: number;
      granted: number;
      debited: number;
      withdrawn: number;
    }[];
    const differences: LedgerCheckReport['differences'] = [];
    for (const row of rows) {
      const fromEntries = { used: row.debited, remaining: row.granted - row.debited - row.withdrawn };
      const amountFromEntries = row.granted - row.withdrawn;
      if (
        fromEntries.used !== row.used ||
        fromEntries.remaining !== row.remaining ||
        amountFromEntries !== row.amount
      ) {
        differences.push({
          creditId: row.id,
          stored: { used: row.used, remaining: row.remaining },
          fromEntries,
        });
      }
    }
    return { recordsChecked: rows.length, differences };
  }

  async close(): Promise<void> {
    await this.#writer.close();
    this.#database.close();
  }
}

interface KeyRow {
  id: string;
  account_id: string;
  staff: string;
  monthly_budget: number | null;
  revoked_at: number | null;
  created_at: number;
}

function toKeyInfo(row: KeyRow): ApiKeyInfo {
  return {
    id: row.id,
    accountId: row.account_id,
    staff: row.staff,
    monthlyBudget: row.monthly_budget,
    revokedAt: row.revoked_at,
    createdAt: row.created_at,
  };
}
