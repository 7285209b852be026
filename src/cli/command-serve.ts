/**
 * `certmatch serve`: the verification service on a port, over a catalog (imported from an entity file first
 * when --data is given) and an embedded ledger. `--demo` creates a demo account with credits on first run and
 * prints a fresh API key for it and a curl to paste.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Catalog } from '../catalog/index.js';
import { SqliteLedger } from '../ledger/index.js';
import { startServer } from '../service/index.js';
import { defaultLedgerPath } from './command-admin.js';
import { defaultCatalogPath, runImport } from './command-import.js';
import { requireCatalog } from './matcher-source.js';
import { integerOption, UsageError } from './usage-error.js';

export const serveUsage = `Usage: certmatch serve [--data ENTITIES.ndjson | --catalog DB] [--ledger DB] [--webhooks DB]
                       [--host H] [--port P] [--threads T] [--admin-key KEY] [--rate-limit N] [--demo] [--quiet]

Serves the Verification API (POST /company, /bulk-companies, /match-companies, /bulk-company-by-id;
GET /company/{ce_id}, /certificate/{cert_id}), the credits API (/v2/credits, /v2/usage, /v2/webhooks),
OpenRefine reconciliation (/reconcile), /healthz, /readyz, /metrics and an API reference at /docs.

  --data FILE       import this entity file into the catalog first (upserts; unchanged lines are skipped)
  --catalog DB      the certificate catalog (default ./${defaultCatalogPath})
  --ledger DB       the credit ledger (default ./${defaultLedgerPath}; created when missing)
  --webhooks DB     webhook subscriptions and deliveries (default: the ledger's path with .webhooks.db)
  --host H          default 127.0.0.1; --port P default 8080
  --threads T       scoring worker threads (default: one per core)
  --admin-key KEY   the key of admin routes (POST /v2/credits); default $CERTMATCH_ADMIN_KEY; --demo makes one
  --rate-limit N    requests per minute per API key (default 6000)
  --demo            create a "Demo" account with 100 credits on first run; print a new key for it and a curl
  --quiet           log warnings and errors only (default: one JSON line per request)

The matching index is built from the catalog once and saved beside it (DB.index); later starts load that
snapshot in seconds, and rebuild it only when an import has changed the catalog or certmatch was upgraded.

Logs are JSON lines on standard output. SIGINT/SIGTERM shut down gracefully: requests in flight finish and
every acknowledged charge is committed.
`;

export interface ServeCommand {
  data?: string;
  catalog: string;
  ledger: string;
  webhooks: string;
  host: string;
  port: number;
  threads?: number;
  adminKey?: string;
  rateLimit?: number;
  demo: boolean;
  quiet: boolean;
}

export function parseServeArgs(argv: string[]): ServeCommand {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      catalog: { type: 'string' },
      ledger: { type: 'string' },
      webhooks: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      threads: { type: 'string' },
      'admin-key': { type: 'string' },
      'rate-limit': { type: 'string' },
      demo: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const ledger = values.ledger ?? defaultLedgerPath;
  const port = integerOption(values.port, 'port', serveUsage, 0, 65_535) ?? 8080;
  const adminKey = values['admin-key'] ?? process.env.CERTMATCH_ADMIN_KEY;
  if (adminKey !== undefined && adminKey.length < 16) {
    throw new UsageError('--admin-key must be at least 16 characters', serveUsage);
  }
  return {
    data: values.data,
    catalog: values.catalog ?? defaultCatalogPath,
    ledger,
    webhooks: values.webhooks ?? `${ledger.replace(/\.db$/, '')}.webhooks.db`,
    host: values.host ?? '127.0.0.1',
    port,
    threads: integerOption(values.threads, 'threads', serveUsage, 1, 64),
    adminKey,
    rateLimit: integerOption(values['rate-limit'], 'rate-limit', serveUsage, 1, 100_000_000),
    demo: values.demo,
    quiet: values.quiet,
  };
}

/** The demo account's id, created with credits the first time; a new key for it each run (keys show once). */
async function demoKey(ledgerPath: string): Promise<string> {
  const ledger = new SqliteLedger(ledgerPath);
  try {
    let [account] = ledger.accountsNamed('Demo');
    if (!account) {
      account = await ledger.createAccount({ name: 'Demo', plan: 'free' });
      await ledger.grantCredits({ accountId: account.id, amount: 100, description: 'demo credits' });
    }
    const { secret } = await ledger.createApiKey({ accountId: account.id, staff: 'demo' });
    return secret;
  } finally {
    await ledger.close();
  }
}

export async function runServe(command: ServeCommand): Promise<void> {
  if (command.data !== undefined) await runImport({ data: command.data, catalog: command.catalog });
  else requireCatalog(command.catalog);
  const adminKey = command.adminKey ?? (command.demo ? randomBytes(18).toString('base64url') : undefined);
  const demoSecret = command.demo ? await demoKey(command.ledger) : undefined;
  const catalog = new Catalog(command.catalog);
  const server = await startServer({
    catalog,
    ledgerPath: command.ledger,
    webhooksPath: command.webhooks,
    host: command.host,
    port: command.port,
    threads: command.threads,
    adminKey,
    rateLimitMax: command.rateLimit,
    logger: { level: command.quiet ? 'warn' : 'info' },
  });
  const stop = () => {
    process.stderr.write('Shutting down: finishing requests in flight and committing the ledger...\n');
    server
      .close()
      .then(() => catalog.close())
      .then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const { matcher, origin, seconds } = await server.index.catch(async (error: unknown) => {
    await server.close();
    throw error;
  });
  process.stderr.write(
    `Matching index ${origin === 'snapshot' ? 'loaded from its snapshot' : 'built'} in ${seconds.toFixed(1)} s.\n` +
      `certmatch is serving ${matcher.entityCount.toLocaleString('en')} certified entities at ${server.url}` +
      ` (API reference: ${server.url}/docs)\n`,
  );
  if (demoSecret !== undefined) {
    const [sample] = catalog.entitiesForIndex();
    const body = JSON.stringify({
      company_name: sample?.certified_entity_name,
      company_country: sample?.country,
    });
    process.stderr.write(
      `\nDemo API key (shown once): ${demoSecret}\n` +
        (command.adminKey === undefined ? `Admin key for this run: ${adminKey}\n` : '') +
        `Try:\n  curl -s -D - ${server.url}/company -H 'x-http-authorization: ${demoSecret}' \\\n` +
        `    -H 'content-type: application/json' -d '${body.replaceAll("'", "'\\''")}'\n\n`,
    );
  }
}
