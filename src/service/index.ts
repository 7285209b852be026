/**
 * The verification service: the registry's Verification API and the vendor's credits API over HTTP
 * (Fastify 5), composing the engine, the catalog and the ledger.
 *
 * @example
 * ```ts
 * const app = await buildApp({ matcher, catalog, ledger }, { adminKey }); // never listens: app.inject(...)
 * const server = await startServer({ catalog, ledgerPath: 'ledger.db', webhooksPath: 'webhooks.db', port: 8080 });
 * await server.close(); // graceful
 * ```
 */
export { buildApp } from './app.js';
export { defaultServiceOptions, type ServiceDeps, type ServiceOptions } from './context.js';
export { Problem, type ProblemBody, type ProblemCode } from './problems.js';
export { type RunningServer, type ServerConfig, startServer } from './server.js';
