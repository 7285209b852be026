/**
 * Webhook subscriptions and their deliveries, in SQLite beside the ledger (a file of its own, so delivery
 * bookkeeping never contends with the ledger's single writer or drops its caches).
 *
 * Delivery is at least once: the ledger's outbox events are fanned out into one delivery row per matching
 * subscription, and the fan-out cursor moves in the same transaction as the rows it creates.
 */
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import type { LedgerEvent, LedgerEventType } from '../ledger/index.js';

export const webhookEventTypes: readonly LedgerEventType[] = [
  'credits.granted',
  'balance.below_threshold',
  'balance.depleted',
  'credits.expiring_soon',
  'credits.expired',
  'budget.exceeded',
];

export interface WebhookSubscription {
  id: string;
  accountId: string;
  url: string;
  /** Event types delivered; every type when empty. */
  events: LedgerEventType[];
  createdAt: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';

export interface WebhookDelivery {
  id: number;
  subscriptionId: string;
  eventId: string;
  eventType: LedgerEventType;
  status: DeliveryStatus;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

/** A delivery due now, with what sending it needs. */
export interface DueDelivery {
  id: number;
  url: string;
  secret: string;
  eventId: string;
  eventType: LedgerEventType;
  body: string;
  attempts: number;
}

const schema = `
CREATE TABLE IF NOT EXISTS subscriptions (
  id TEXT PRIMARY KEY,
  account_id TEXT NOT NULL,
  url TEXT NOT NULL,
  secret TEXT NOT NULL,
  events TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  deleted_at INTEGER
);
CREATE INDEX IF NOT EXISTS subscriptions_by_account ON subscriptions (account_id) WHERE deleted_at IS NULL;
CREATE TABLE IF NOT EXISTS deliveries (
  id INTEGER PRIMARY KEY,
  subscription_id TEXT NOT NULL REFERENCES subscriptions (id),
  event_id TEXT NOT NULL,
  event_type TEXT NOT NULL,
  body TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'dead')),
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER,
  last_error TEXT,
  delivered_at INTEGER,
  created_at INTEGER NOT NULL,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE TABLE IF NOT EXISTS fan_out_cursor (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  sequence INTEGER NOT NULL
);
INSERT OR IGNORE INTO fan_out_cursor (id, sequence) VALUES (1, 0);
`;

interface SubscriptionRow {
  id: string;
  account_id: string;
  url: string;
  secret: string;
  events: string;
  created_at: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function toSubscription(row: SubscriptionRow): WebhookSubscription {
  return {
    id: row.id,
    accountId: row.account_id,
    url: row.url,
    events: JSON.parse(row.events) as LedgerEventType[],
    createdAt: iso(row.created_at) as string,
  };
}

/** The body POSTed to a subscriber: the event, with a stable id receivers deduplicate on. */
export function deliveryBody(event: LedgerEvent): string {
  return JSON.stringify({
    id: event.id,
    type: event.type,
    account_id: event.accountId,
    created_at: event.createdAt,
    data: event.payload,
  });
}

export class WebhookStore {
  readonly #database: Database.Database;
  readonly #now: () => number;

  constructor(path: string, options: { now?: () => number } = {}) {
    this.#database = new Database(path);
    this.#database.pragma('journal_mode = WAL');
    this.#database.pragma('synchronous = FULL');
    this.#database.pragma('busy_timeout = 5000');
    this.#database.exec(schema);
    this.#now = options.now ?? Date.now;
  }

  createSubscription(input: {
    accountId: string;
    url: string;
    secret: string;
    events: LedgerEventType[];
  }): WebhookSubscription {
    const row: SubscriptionRow = {
      id: `whk_${randomBytes(12).toString('base64url')}`,
      account_id: input.accountId,
      url: input.url,
      secret: input.secret,
      events: JSON.stringify(input.events),
      created_at: this.#now(),
    };
    this.#database
      .prepare(
        'INSERT INTO subscriptions (id, account_id, url, secret, events, created_at) VALUES (@id, @account_id, @url, @secret, @events, @created_at)',
      )
      .run(row);
    return toSubscription(row);
  }

  subscriptions(accountId: string): WebhookSubscription[] {
    return (
      this.#database
        .prepare(
          'SELECT * FROM subscriptions WHERE account_id = ? AND deleted_at IS NULL ORDER BY created_at, id',
        )
        .all(accountId) as SubscriptionRow[]
    ).map(toSubscription);
  }

  /** Deletes a subscription and drops its pending deliveries; false when the account has no such one. */
  deleteSubscription(accountId: string, id: string): boolean {
    return this.#database.transaction(() => {
      const changed = this.#database
        .prepare(
          'UPDATE subscriptions SET deleted_at = ? WHERE id = ? AND account_id = ? AND deleted_at IS NULL',
        )
        .run(this.#now(), id, accountId).changes;
      if (changed > 0) {
        this.#database
          .prepare(
            "UPDATE deliveries SET status = 'dead', last_error = 'subscription deleted', next_attempt_at = NULL WHERE subscription_id = ? AND status = 'pending'",
          )
          .run(id);
      }
      return changed > 0;
    })();
  }

  /** The last ledger event sequence already fanned out. */
  get cursor(): number {
    return this.#database.prepare('SELECT sequence FROM fan_out_cursor WHERE id = 1').pluck().get() as number;
  }

  /**
   * Creates one pending delivery per event and matching subscription, and moves the cursor past the events,
   * in one transaction: after a crash either both happened or neither, and a re-run creates no duplicates.
   */
  fanOut(events: readonly LedgerEvent[], now = this.#now()): number {
    if (events.length === 0) return 0;
    const subscriptionsOf = this.#database.prepare(
      'SELECT * FROM subscriptions WHERE account_id = ? AND deleted_at IS NULL',
    );
    const insert = this.#database.prepare(
      `INSERT OR IGNORE INTO deliveries (subscription_id, event_id, event_type, body, status, next_attempt_at, created_at)
       VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
    );
    return this.#database.transaction(() => {
      let created = 0;
      for (const event of events) {
        for (const subscription of (subscriptionsOf.all(event.accountId) as SubscriptionRow[]).map(
          toSubscription,
        )) {
          if (subscription.events.length > 0 && !subscription.events.includes(event.type)) continue;
          created += insert.run(subscription.id, event.id, event.type, deliveryBody(event), now, now).changes;
        }
      }
      this.#database
        .prepare('UPDATE fan_out_cursor SET sequence = MAX(sequence, ?) WHERE id = 1')
        .run((events.at(-1) as LedgerEvent).sequence);
      return created;
    })();
  }

  /** Pending deliveries due at `now` (the dispatcher's clock), oldest first. */
  due(limit: number, now = this.#now()): DueDelivery[] {
    return this.#database
      .prepare(
        `SELECT d.id, s.url, s.secret, d.event_id AS eventId, d.event_type AS eventType, d.body, d.attempts
         FROM deliveries d JOIN subscriptions s ON s.id = d.subscription_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= ? ORDER BY d.next_attempt_at, d.id LIMIT ?`,
      )
      .all(now, limit) as DueDelivery[];
  }

  markDelivered(id: number): void {
    this.#database
      .prepare(
        "UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, next_attempt_at = NULL, last_error = NULL WHERE id = ?",
      )
      .run(this.#now(), id);
  }

  /** Records a failed attempt: retried at `retryAt`, or dead (no more attempts) when it is null. */
  markFailed(id: number, error: string, retryAt: number | null): void {
    this.#database
      .prepare(
        `UPDATE deliveries SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,
                status = CASE WHEN ? IS NULL THEN 'dead' ELSE 'pending' END WHERE id = ?`,
      )
      .run(error.slice(0, 500), retryAt, retryAt, id);
  }

  /** A subscription's deliveries, newest first; undefined when the account has no such subscription. */
  deliveries(accountId: string, subscriptionId: string, limit = 100): WebhookDelivery[] | undefined {
    const owner = this.#database
      .prepare('SELECT account_id FROM subscriptions WHERE id = ?')
      .pluck()
      .get(subscriptionId) as string | undefined;
    if (owner !== accountId) return undefined;
    const rows = this.#database
      .prepare('SELECT * FROM deliveries WHERE subscription_id = ? ORDER BY id DESC LIMIT ?')
      .all(subscriptionId, limit) as {
      id: number;
      subscription_id: string;
      event_id: string;
      event_type: LedgerEventType;
      status: DeliveryStatus;
      attempts: number;
      last_error: string | null;
      next_attempt_at: number | null;
      delivered_at: number | null;
    }[];
    return rows.map((row) => ({
      id: row.id,
      subscriptionId: row.subscription_id,
      eventId: row.event_id,
      eventType: row.event_type,
      status: row.status,
      attempts: row.attempts,
      lastError: row.last_error,
      nextAttemptAt: iso(row.next_attempt_at),
      deliveredAt: iso(row.delivered_at),
    }));
  }

  close(): void {
    this.#database.close();
  }
}
