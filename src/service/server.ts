/**
 * The listening service: opens the catalog, the ledger and the webhook store, starts loading the matching
 * index (answering 503 `not_ready` until it is in), listens, runs the ledger's periodic passes, and shuts down
 * gracefully: stop accepting, finish the requests in flight, drain the ledger's queue, then close.
 */
import type { FastifyInstance } from 'fastify';
import type { Catalog } from '../catalog/index.js';
import { createMatcher, type Matcher } from '../engine/index.js';
import { SqliteLedger } from '../ledger/index.js';
import { WebhookDispatcher, type WebhookDispatcherOptions, WebhookStore } from '../webhooks/index.js';
import { buildApp } from './app.js';
import type { ServiceOptions } from './context.js';

export interface ServerConfig extends ServiceOptions {
  catalog: Catalog;
  ledgerPath: string;
  webhooksPath: string;
  host?: string;
  port?: number;
  /** Scoring worker threads. */
  threads?: number;
  webhookOptions?: WebhookDispatcherOptions;
  /** How often the expiry pass runs. Default one minute. */
  expiryIntervalMs?: number;
}

export interface RunningServer {
  app: FastifyInstance;
  ledger: SqliteLedger;
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Resolves when the matching index is loaded. */
  ready: Promise<Matcher>;
  /** Graceful shutdown; safe to call twice. */
  close(): Promise<void>;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const ledger = new SqliteLedger(config.ledgerPath);
  const store = new WebhookStore(config.webhooksPath);
  const dispatcher = new WebhookDispatcher(store, ledger, config.webhookOptions);
  let loaded: (matcher: Promise<Matcher>) => void = () => {};
  const ready = new Promise<Matcher>((resolve) => {
    loaded = resolve;
  });
  const app = await buildApp(
    { matcher: ready, catalog: config.catalog, ledger, webhooks: { store, dispatcher } },
    config,
  );
  const url = await app.listen({ host: config.host ?? '127.0.0.1', port: config.port ?? 8080 });
  // Built once listening: /healthz answers and /readyz says "loading" meanwhile.
  loaded(
    createMatcher(
      { entities: config.catalog.entitiesForIndex() },
      config.threads === undefined ? {} : { threads: config.threads },
    ),
  );
  dispatcher.start();
  // Expired records are not drawn on either way; the pass writes their expiry entries and events.
  const passes = setInterval(() => {
    ledger.expireCredits().catch((error: unknown) => app.log.error({ err: error }, 'expiry pass failed'));
    ledger.purgeIdempotencyKeys().catch((error: unknown) => app.log.error({ err: error }, 'purge failed'));
  }, config.expiryIntervalMs ?? 60_000).unref();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      clearInterval(passes);
      await app.close(); // stops accepting; waits for the requests in flight
      await dispatcher.stop();
      await ledger.close(); // drains the write queue
      const matcher = await ready.catch(() => undefined);
      await matcher?.close();
      store.close();
    })();
    return closing;
  };
  return { app, ledger, url, ready, close };
}
