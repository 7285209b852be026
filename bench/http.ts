/**
 * The verification service under HTTP load: a real server process (`certmatch serve` from the build) on a
 * real port, driven by autocannon with the generator's labelled queries. POST /company includes the durable
 * charge (a basic-plan account: exact matches charge, re-checks are free, every verification is recorded);
 * POST /match-companies is never charged. Optionally a soak run at 70% of the measured rate, watching for
 * errors and memory growth.
 *
 * Run (after npm run build):
 *   node --import tsx bench/http.ts [--entities 100000] [--seconds 20] [--connections 32] [--soak-seconds 600]
 * Generated registries and catalogs are kept in data/generated/ and reused.
 */
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { SqliteLedger } from '../src/ledger/index.js';
import { builtCli, generatedDirectory, generatedRegistry } from './generated-registry.js';
import { type Figure, printFigures, writeResults } from './report.js';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '20' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '2' },
    'soak-seconds': { type: 'string', default: '0' },
    port: { type: 'string', default: '18080' },
    /** Extra Node flags for the server, e.g. "--trace-gc" to see collector pauses. */
    'server-flags': { type: 'string', default: '' },
  },
});
const entities = Number(values.entities);
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const { queryFile, catalogFile } = generatedRegistry(entities, Number(values.queries));
const cli = builtCli;
const generated = generatedDirectory;
const bodies = readFileSync(queryFile, 'utf8')
  .trim()
  .split('\n')
  .map((line) => {
    const { label: _label, match_rate: _rate, ...body } = JSON.parse(line) as Record<string, unknown>;
    return JSON.stringify(body);
  });

// A fresh ledger with one basic-plan account (overage allowed: no request is refused for credit).
const ledgerFile = join(generated, `http-${entities}-ledger-${process.pid}.db`);
const ledger = new SqliteLedger(ledgerFile);
const account = await ledger.createAccount({ name: 'HTTP bench', plan: 'basic' });
const { secret } = await ledger.createApiKey({ accountId: account.id, staff: 'bench' });
await ledger.grantCredits({ accountId: account.id, amount: 1_000_000 });
await ledger.close();

const port = Number(values.port);
const url = `http://127.0.0.1:${port}`;
const startedAt = performance.now();
const server = spawn(
  process.execPath,
  [
    '--max-semi-space-size=64',
    ...(values['server-flags'] as string).split(' ').filter(Boolean),
    cli,
    'serve',
    '--catalog',
    catalogFile,
    '--ledger',
    ledgerFile,
    '--port',
    String(port),
    '--threads',
    values.threads as string,
    '--quiet',
    '--rate-limit',
    '100000000',
  ],
  { stdio: ['ignore', 'inherit', 'inherit'] },
);
const stopServer = async () => {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
};
process.once('SIGINT', () => {
  server.kill('SIGKILL');
  process.exit(130);
});
for (;;) {
  const ready = await fetch(`${url}/readyz`).then(
    (response) => response.ok,
    () => false,
  );
  if (ready) break;
  if (server.exitCode !== null) throw new Error('the server exited before it was ready');
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const readySeconds = (performance.now() - startedAt) / 1000;

let next = 0;
async function load(path: string, options: { seconds: number; rate?: number }) {
  const result = await autocannon({
    url: `${url}${path}`,
    method: 'POST',
    connections,
    duration: options.seconds,
    ...(options.rate ? { overallRate: options.rate } : {}),
    headers: { 'content-type': 'application/json', 'x-http-authorization': secret },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: bodies[next++ % bodies.length] }),
      },
    ],
  });
  const statuses = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const serverErrors = Object.entries(statuses)
    .filter(([status]) => Number(status) >= 500)
    .reduce((sum, [, stat]) => sum + stat.count, 0);
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors + result.timeouts + serverErrors,
    statuses: Object.fromEntries(Object.entries(statuses).map(([status, stat]) => [status, stat.count])),
  };
}

/**
 * The server's anonymous resident memory (heap, workers, SQLite caches), MiB. File-backed pages are left
 * out: the catalog is memory-mapped (up to 1 GiB), and the pages random lookups touch count in RSS without
 * being a leak.
 */
function anonymousMiB(): number {
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  return Number(/RssAnon:\s+(\d+)/.exec(status)?.[1]) / 1024;
}

await load('/company', { seconds: 3 }); // warm-up: JIT, page cache, grace-period rows
const company = await load('/company', { seconds });
const matchCompanies = await load('/match-companies', { seconds });
// The target load exactly: 2,000 requests/s offered, whatever the connections could do.
const atTarget = await load('/company', { seconds, rate: 2_000 });
const figures: Figure[] = [
  { name: 'server ready (index loaded from the catalog)', value: readySeconds, unit: 's' },
  {
    name: 'POST /company requests/s (durable charge)',
    value: Math.round(company.requestsPerSecond),
    unit: '/s',
    target: '≥ 2,000',
    meets: company.requestsPerSecond >= 2_000,
  },
  { name: 'POST /company p50', value: company.p50, unit: 'ms' },
  { name: 'POST /company p99 at full load (beyond the target rate)', value: company.p99, unit: 'ms' },
  {
    name: 'POST /company p99 at 2,000 requests/s offered',
    value: atTarget.p99,
    unit: 'ms',
    target: '≤ 25 ms',
    meets: atTarget.p99 <= 25 && atTarget.requestsPerSecond >= 1_950,
  },
  {
    name: 'POST /company errors (5xx, socket, timeout)',
    value: company.errors,
    unit: '',
    target: '0',
    meets: company.errors === 0,
  },
  {
    name: 'POST /match-companies requests/s',
    value: Math.round(matchCompanies.requestsPerSecond),
    unit: '/s',
    target: '≥ 3,000',
    meets: matchCompanies.requestsPerSecond >= 3_000,
  },
  { name: 'POST /match-companies p99', value: matchCompanies.p99, unit: 'ms' },
];

const soakSeconds = Number(values['soak-seconds']);
let soak: Record<string, unknown> | undefined;
if (soakSeconds > 0) {
  const rate = Math.round(company.requestsPerSecond * 0.7);
  const samples: number[] = [anonymousMiB()];
  const sampler = setInterval(() => samples.push(anonymousMiB()), 10_000);
  const result = await load('/company', { seconds: soakSeconds, rate });
  clearInterval(sampler);
  samples.push(anonymousMiB());
  // Flat memory: caches warm up over the first minutes, so a leak shows as growth over the second half.
  const warm = samples[Math.min(samples.length - 1, 6)] as number;
  const middle = samples[Math.floor(samples.length / 2)] as number;
  const late = samples.at(-1) as number;
  soak = { rate, seconds: soakSeconds, ...result, anonymousMiB: samples };
  figures.push(
    { name: `soak ${soakSeconds} s at ${rate}/s: p99`, value: result.p99, unit: 'ms' },
    {
      name: `soak ${soakSeconds} s at ${rate}/s: errors`,
      value: result.errors,
      unit: '',
      target: '0',
      meets: result.errors === 0,
    },
    {
      name: 'soak: anonymous memory growth after the first minute (warm-up)',
      value: late - warm,
      unit: 'MiB',
    },
    {
      name: 'soak: anonymous memory growth over the second half',
      value: late - middle,
      unit: 'MiB',
      target: '≤ 5%',
      meets: late - middle <= 0.05 * middle,
    },
  );
}
await stopServer();
rmSync(ledgerFile, { force: true });
rmSync(`${ledgerFile}-wal`, { force: true });
rmSync(`${ledgerFile}-shm`, { force: true });
rmSync(ledgerFile.replace(/\.db$/, '.webhooks.db'), { force: true });

printFigures(
  `HTTP service (${entities.toLocaleString('en')} entities, ${connections} connections, ${values.threads} scoring threads)`,
  figures,
);
console.log(`  POST /company statuses: ${JSON.stringify(company.statuses)}`);
console.log(
  `  written to ${writeResults('http', { entities, connections, figures, company, matchCompanies, atTarget, soak })}`,
);
