/**
 * Bulk CLI throughput and memory: `certmatch bulk` (from the build) over a CSV of R rows against a catalog of
 * N entities, charging a basic-plan account. Memory must not grow with the file: the child runs with a small
 * V8 heap cap (a heap that grew with the rows would die of it), and its resident memory is sampled every
 * second.
 *
 * Run (after npm run build): node --import tsx bench/bulk.ts [--entities 100000] [--rows 1000000]
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteLedger } from '../src/ledger/index.js';
import { builtCli, generatedDirectory, generatedRegistry } from './generated-registry.js';
import { type Figure, printFigures, writeResults } from './report.js';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '100000' },
    rows: { type: 'string', default: '1000000' },
    threads: { type: 'string', default: '2' },
  },
});
const entities = Number(values.entities);
/** The bulk process's V8 old-generation cap: the index of 100k entities and one chunk fit; a leak would not. */
const heapCapMiB = Math.max(128, Math.ceil(entities / 1_000) + 64);
const rows = Number(values.rows);
const { queryFile, catalogFile } = generatedRegistry(entities);
const cli = builtCli;
const generated = generatedDirectory;

// A supplier CSV of `rows` rows cycling through the labelled queries (names, countries, VAT numbers).
const csvFile = join(generated, `bulk-${entities}-${rows}.csv`);
if (!existsSync(csvFile)) {
  const queries = readFileSync(queryFile, 'utf8')
    .trim()
    .split('\n')
    .map(
      (line) =>
        JSON.parse(line) as {
          company_name?: string;
          company_country?: string;
          company_identifiers?: { vat?: string };
        },
    );
  const cell = (value: string | undefined) =>
    value === undefined ? '' : /[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
  const stream = createWriteStream(csvFile);
  stream.write('Supplier,Country,VAT,Ref\n');
  for (let i = 0; i < rows; i++) {
    const query = queries[i % queries.length];
    const line = `${cell(query?.company_name)},${cell(query?.company_country)},${cell(query?.company_identifiers?.vat)},R${i}\n`;
    if (!stream.write(line)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
}

const ledgerFile = join(generated, `bulk-ledger-${process.pid}.db`);
const ledger = new SqliteLedger(ledgerFile);
const account = await ledger.createAccount({ name: 'Bulk bench', plan: 'basic' });
const { secret } = await ledger.createApiKey({ accountId: account.id });
await ledger.close();
const output = join(generated, `bulk-out-${process.pid}.csv`);

const child = spawn(
  process.execPath,
  [
    '--max-semi-space-size=64',
    // Constant memory, proven: the whole file must fit through a small old-generation heap.
    `--max-old-space-size=${heapCapMiB}`,
    cli,
    'bulk',
    '--input',
    csvFile,
    '--output',
    output,
    '--catalog',
    catalogFile,
    '--ledger',
    ledgerFile,
    '--api-key',
    secret,
    '--threads',
    values.threads as string,
  ],
  { stdio: ['ignore', 'inherit', 'pipe'] },
);
let stderr = '';
child.stderr.on('data', (chunk: Buffer) => {
  stderr += chunk.toString();
});
const rss: number[] = [];
const sampler = setInterval(() => {
  try {
    const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
    const kib = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]);
    if (kib > 0) rss.push(kib / 1024);
  } catch {
    // the process has exited
  }
}, 1_000);
const [code] = await once(child, 'close');
clearInterval(sampler);
if (code !== 0) throw new Error(`certmatch bulk failed (${code}):\n${stderr}`);
const rowsPerSecond = Number(/\(([\d,]+) rows\/s/.exec(stderr)?.[1]?.replaceAll(',', ''));
const credits = Number(/credits charged\s+(\d+)/.exec(stderr)?.[1]);
// Indexing happens first; compare memory after the first quarter of the samples with the end.
const steady = rss.slice(Math.floor(rss.length / 4));
const growth = (steady.at(-1) ?? 0) - (steady[0] ?? 0);
for (const file of [ledgerFile, `${ledgerFile}-wal`, `${ledgerFile}-shm`, output])
  rmSync(file, { force: true });

const figures: Figure[] = [
  { name: 'bulk CLI rows/s (matching, charging, CSV out)', value: rowsPerSecond, unit: '/s' },
  { name: 'credits charged (distinct exact companies)', value: credits, unit: '' },
  { name: 'peak resident memory', value: Math.max(...rss), unit: 'MiB' },
  {
    name: `completed within a ${heapCapMiB} MiB V8 heap cap`,
    value: code === 0 ? 1 : 0,
    unit: '(1 = yes)',
    target: 'constant memory',
    meets: code === 0,
  },
  {
    name: 'resident memory growth after the first quarter (native caches; not the heap)',
    value: growth,
    unit: 'MiB',
  },
];
printFigures(
  `Bulk CLI (${rows.toLocaleString('en')} CSV rows, ${entities.toLocaleString('en')} entities, ${values.threads} threads)`,
  figures,
);
console.log(
  stderr
    .split('\n')
    .filter((line) => line.startsWith('  '))
    .join('\n'),
);
console.log(`  written to ${writeResults('bulk', { entities, rows, figures, rssMiB: rss })}`);
