/**
 * Delivers the ledger's outbox events to webhook subscribers: HMAC-SHA256 signed, retried with exponential
 * backoff, at least once (a receiver deduplicates on the event id, which is stable), and dead after
 * `maxAttempts` failures. One dispatcher per ledger; it keeps its place in the outbox in the webhook store.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Ledger } from '../ledger/index.js';
import type { DueDelivery, WebhookStore } from './store.js';

export interface WebhookDispatcherOptions {
  /** Attempts before a delivery is dead. Default 8. */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt up to `backoffMaxMs`. Default 1 s. */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Time a receiver has to answer. Default 5 s. */
  timeoutMs?: number;
  /** How often to look for new events and due retries. Default 500 ms. */
  pollMs?: number;
  /** Deliveries sent at once. Default 8. */
  concurrency?: number;
  now?: () => number;
  /** Fraction of each backoff drawn at random, so retries of many deliveries spread out. Default 0.2. */
  jitter?: number;
}

/** Header with the signature: `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`. */
export const signatureHeader = 'x-certmatch-signature';

export function signWebhook(secret: string, body: string, unixSeconds: number): string {
  const digest = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${digest}`;
}

/**
 * What a receiver runs: true when the signature is the secret's and no older than `toleranceSeconds`
 * (replayed old deliveries are refused).
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  body: string,
  options: { toleranceSeconds?: number; nowSeconds?: number } = {},
): boolean {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? '');
  if (!match) return false;
  const timestamp = Number(match[1]);
  const now = options.nowSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signWebhook(secret, body, timestamp).slice(-64), 'hex');
  return timingSafeEqual(expected, Buffer.from(match[2] as string, 'hex'));
}

export class WebhookDispatcher {
  readonly #store: WebhookStore;
  readonly #ledger: Pick<Ledger, 'events'>;
  readonly #options: Required<WebhookDispatcherOptions>;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(store: WebhookStore, ledger: Pick<Ledger, 'events'>, options: WebhookDispatcherOptions = {}) {
    this.#store = store;
    this.#ledger = ledger;
    this.#options = {
      maxAttempts: 8,
      backoffBaseMs: 1_000,
      backoffMaxMs: 3_600_000,
      timeoutMs: 5_000,
      pollMs: 500,
      concurrency: 8,
      now: Date.now,
      jitter: 0.2,
      ...options,
    };
  }

  /** Polls every `pollMs` until {@link stop}. */
  start(): void {
    this.#stopped = false;
    const tick = () => {
      this.#running = this.runOnce()
        .catch(() => {}) // a failed round (database busy) is retried next tick; deliveries keep their state
        .finally(() => {
          if (!this.#stopped) this.#timer = setTimeout(tick, this.#options.pollMs).unref();
        });
    };
    tick();
  }

  /** Stops polling and waits for the deliveries in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  /** One round: fan out new outbox events, then send every delivery due. Returns how many were sent. */
  async runOnce(): Promise<{ fannedOut: number; delivered: number; failed: number }> {
    let fannedOut = 0;
    for (;;) {
      const events = this.#ledger.events(this.#store.cursor, 1_000);
      if (events.length === 0) break;
      fannedOut += this.#store.fanOut(events, this.#options.now());
    }
    let delivered = 0;
    let failed = 0;
    for (;;) {
      const due = this.#store.due(this.#options.concurrency, this.#options.now());
      if (due.length === 0) break;
      const outcomes = await Promise.all(due.map((delivery) => this.#send(delivery)));
      for (const ok of outcomes) {
        if (ok) delivered++;
        else failed++;
      }
      if (this.#stopped) break;
    }
    return { fannedOut, delivered, failed };
  }

  async #send(delivery: DueDelivery): Promise<boolean> {
    const attempt = delivery.attempts + 1;
    let failure: string;
    try {
      const response = await fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'certmatch-webhooks/1',
          'x-certmatch-event-id': delivery.eventId,
          'x-certmatch-event-type': delivery.eventType,
          'x-certmatch-delivery-attempt': String(attempt),
          [signatureHeader]: signWebhook(
            delivery.secret,
            delivery.body,
            Math.floor(this.#options.now() / 1000),
          ),
        },
        body: delivery.body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#options.timeoutMs),
      });
      // The body is not read beyond what closing needs: a receiver's answer carries nothing for us.
      await response.body?.cancel();
      if (response.status >= 200 && response.status < 300) {
        this.#store.markDelivered(delivery.id);
        return true;
      }
      failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = (error as Error).name === 'TimeoutError' ? 'timed out' : (error as Error).message;
    }
    const retryAt =
      attempt >= this.#options.maxAttempts ? null : this.#options.now() + this.#backoff(attempt);
    this.#store.markFailed(delivery.id, failure, retryAt);
    return false;
  }

  #backoff(attempt: number): number {
    const { backoffBaseMs, backoffMaxMs, jitter } = this.#options;
    const delay = Math.min(backoffMaxMs, backoffBaseMs * 2 ** (attempt - 1));
    return Math.round(delay * (1 - jitter + 2 * jitter * Math.random()));
  }
}
