/**
 * A real service for tests: a catalog imported from a generated registry, a SQLite ledger in a temporary
 * directory, the matcher built from the catalog, and `buildApp` over them (never listening; use `inject`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Catalog } from '../../src/catalog/index.js';
import { registryEntities } from '../../src/data/generate-registry.js';
import { type CertifiedEntityRecord, createMatcher, type Matcher } from '../../src/engine/index.js';
import { type Plan, SqliteLedger } from '../../src/ledger/index.js';
import { buildApp, type ServiceOptions } from '../../src/service/index.js';
import { WebhookStore } from '../../src/webhooks/index.js';

export const adminKey = 'admin-key-for-the-tests-0001';

export interface ServiceFixture {
  app: FastifyInstance;
  ledger: SqliteLedger;
  catalog: Catalog;
  matcher: Matcher;
  webhooks: WebhookStore;
  entities: CertifiedEntityRecord[];
  directory: string;
  /** A new account with a staff key and, when credits > 0, one credit record. */
  account(
    plan: Plan,
    credits: number,
    options?: { monthlyBudget?: number },
  ): Promise<{ id: string; keyId: string; headers: { 'x-http-authorization': string } }>;
  close(): Promise<void>;
}

export async function serviceFixture(
  options: { serviceOptions?: ServiceOptions; now?: () => number; count?: number } = {},
): Promise<ServiceFixture> {
  const directory = mkdtempSync(join(tmpdir(), 'certmatch-service-'));
  const entities = [...registryEntities({ count: options.count ?? 300, seed: 'service-tests' })];
  const file = join(directory, 'entities.ndjson');
  writeFileSync(file, `${entities.map((entity) => JSON.stringify(entity)).join('\n')}\n`);
  const catalog = new Catalog(join(directory, 'catalog.db'));
  await catalog.importFile(file);
  const ledger = new SqliteLedger(join(directory, 'ledger.db'), options.now ? { now: options.now } : {});
  const webhooks = new WebhookStore(join(directory, 'webhooks.db'), options.now ? { now: options.now } : {});
  const matcher = await createMatcher({ entities: catalog.entitiesForIndex() }, { threads: 0 });
  const app = await buildApp(
    { matcher, catalog, ledger, webhooks: { store: webhooks } },
    { adminKey, maxEventLoopDelayMs: 0, rateLimitMax: 1_000_000, ...options.serviceOptions },
  );
  return {
    app,
    ledger,
    catalog,
    matcher,
    webhooks,
    entities,
    directory,
    async account(plan, credits, accountOptions = {}) {
      const account = await ledger.createAccount({ name: `Buyer ${plan}`, plan });
      const { key, secret } = await ledger.createApiKey({
        accountId: account.id,
        staff: 'alice',
        monthlyBudget: accountOptions.monthlyBudget ?? null,
      });
      if (credits > 0) await ledger.grantCredits({ accountId: account.id, amount: credits });
      return { id: account.id, keyId: key.id, headers: { 'x-http-authorization': secret } };
    },
    async close() {
      await app.close();
      await matcher.close();
      await ledger.close();
      webhooks.close();
      catalog.close();
    },
  };
}
