/**
 * What every route of the service is built from: the engine, the catalog and the ledger it composes, and the
 * options it runs with.
 */

import type { FastifyRequest } from 'fastify';
import type { Catalog } from '../catalog/index.js';
import type { Matcher } from '../engine/index.js';
import type { ApiKeyInfo, SqliteLedger } from '../ledger/index.js';
import type { WebhookDispatcher, WebhookStore } from '../webhooks/index.js';
import type { ServiceMetrics } from './metrics.js';

export interface ServiceDeps {
  /** The matching index; a promise while it loads (the service answers 503 `not_ready` until then). */
  matcher: Matcher | Promise<Matcher>;
  catalog: Catalog;
  ledger: SqliteLedger;
  /** Webhook subscriptions and deliveries; without them the webhook routes answer 404. */
  webhooks?: { store: WebhookStore; dispatcher?: WebhookDispatcher };
}

export interface ServiceOptions {
  /** The key of admin routes (granting credits). Without one, admin routes refuse everyone. */
  adminKey?: string;
  /** Fastify's logger option: false for tests, true (JSON lines) for a server. */
  logger?: boolean | Record<string, unknown>;
  /** Requests per key (or per IP without a key) in each window. Default 6,000 per minute. */
  rateLimitMax?: number;
  rateLimitWindowMs?: number;
  /** Largest request body in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** Verification requests being answered at once before new ones get 503 `overloaded`. Default 1,024. */
  maxInFlight?: number;
  /** Ledger writes waiting before verification requests get 503 `overloaded`. Default 50,000. */
  ledgerQueueMax?: number;
  /** Event-loop delay (ms) above which every request gets 503 `overloaded`. Default 1,000; 0 disables. */
  maxEventLoopDelayMs?: number;
}

export const defaultServiceOptions: Required<
  Pick<
    ServiceOptions,
    | 'rateLimitMax'
    | 'rateLimitWindowMs'
    | 'bodyLimitBytes'
    | 'maxInFlight'
    | 'ledgerQueueMax'
    | 'maxEventLoopDelayMs'
  >
> = {
  rateLimitMax: 6_000,
  rateLimitWindowMs: 60_000,
  bodyLimitBytes: 1 << 20,
  maxInFlight: 1_024,
  ledgerQueueMax: 50_000,
  maxEventLoopDelayMs: 1_000,
};

export interface ServiceContext {
  deps: ServiceDeps;
  options: ServiceOptions & typeof defaultServiceOptions;
  metrics: ServiceMetrics;
  /** The loaded matcher; throws 503 `not_ready` while it loads. */
  matcher(): Matcher;
}

/** The staff key of a request on a staff route (the authentication hook has set it). */
export function staffOf(request: FastifyRequest): ApiKeyInfo {
  if (!request.staff) throw new Error('a staff route ran without an authenticated key');
  return request.staff;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated staff key, on routes with access 'staff'. */
    staff?: ApiKeyInfo;
  }
  interface FastifyContextConfig {
    /** Who may call the route: anyone, a staff key, or the admin key. Default 'public'. */
    access?: 'public' | 'staff' | 'admin';
    /** The route accepts the staff key as `?api_key=` too (OpenRefine cannot send headers). */
    keyInQuery?: boolean;
    /** Counted against `maxInFlight` and refused under ledger backlog. */
    shed?: boolean;
  }
}
