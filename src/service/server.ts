/**
 * The listening service: opens the catalog, the ledger and the webhook store, starts loading the matching
 * index (answering 503 `not_ready` until it is in), listens, runs the ledger's periodic passes, and shuts down
 * gracefully: stop accepting, finish the requests in flight, drain the ledger's queue, then close.
 */
import type { FastifyInstance } from 'fastify';
import { type Catalog, type CatalogMatcher, openCatalogMatcher } from '../catalog/index.js';
import type { Matcher } from '../engine/index.js';
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
  /** The same, with how the index was opened (from its snapshot or built) and how long it took. */
  index: Promise<CatalogMatcher>;
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
  const index = openCatalogMatcher(
    config.catalog,
    config.threads === undefined ? {} : { threads: config.threads },
  ).then((opened) => {
    const { matcher, origin, seconds, snapshotProblem, saveProblem } = opened;
    app.log.info(
      { origin, seconds: Number(seconds.toFixed(2)), entities: matcher.entityCount, snapshotProblem },
      origin === 'snapshot' ? 'matching index loaded from its snapshot' : 'matching index built',
    );
    // Before the service is ready, so that its first answers read their documents the fast way too.
    const locations = config.catalog.cacheLocations();
    app.log.info(
      { origin: locations.origin, seconds: Number(locations.seconds.toFixed(2)) },
      'catalog document locations in memory',
    );
    if (locations.saveProblem !== undefined)
      app.log.warn({ saveProblem: locations.saveProblem }, 'catalog locations file not saved');
    if (saveProblem !== undefined) app.log.warn({ saveProblem }, 'index snapshot not saved');
    return opened;
  });
  loaded(index.then((opened) => opened.matcher));
  // A failed load reaches callers through `ready` (and `index` when they await it); one that only awaits
  // `ready`, as before `index` existed, must not have the process die of an unhandled rejection.
  index.catch(() => {});
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
  return { app, ledger, url, ready, index, close };
}
