/**
 * The certificate catalog: import rate from an NDJSON entity file, and lookups by ce_id and cert_id as the
 * service makes them (the UTF-8 JSON it answers with). Times the build, as `certmatch import` runs.
 * Run: npm run build && node --import tsx bench/catalog.ts [--entities 100000]
 */

import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as CatalogModule from '../src/catalog/index.js';
import { registryEntities } from '../src/data/generate-registry.js';
import { importBuilt } from './built.js';
import { type Figure, percentile, printFigures, writeResults } from './report.js';

const { Catalog } = await importBuilt<typeof CatalogModule>('catalog/index.js');

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '100000' },
    lookups: { type: 'string', default: '100000' },
  },
});
const count = Number(values.entities);
const directory = mkdtempSync(join(tmpdir(), 'certmatch-catalog-bench-'));
const file = join(directory, 'entities.ndjson');
const ids: string[] = [];
const certificateIds: string[] = [];
const stream = createWriteStream(file);
for (const entity of registryEntities({ count, seed: 'catalog-bench' })) {
  ids.push(entity.ce_id);
  if (entity.certificates?.[0]) certificateIds.push(entity.certificates[0].cert_id);
  if (!stream.write(`${JSON.stringify(entity)}\n`)) await once(stream, 'drain');
}
stream.end();
await once(stream, 'finish');

const catalog = new Catalog(join(directory, 'catalog.db'));
const summary = await catalog.importFile(file);
const entitiesPerSecond = summary.imported / summary.seconds;

const lookups = Number(values.lookups);
/** Lookups per second, the median of five rounds: the machine is shared, and one round can catch a stall. */
function lookupRate(lookup: (i: number) => unknown): number {
  const rates: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < lookups; i++) lookup(i);
    rates.push(lookups / ((performance.now() - started) / 1000));
  }
  return percentile(
    rates.sort((a, b) => a - b),
    0.5,
  );
}
const entityLookupsPerSecond = lookupRate((i) =>
  catalog.entityDocument(ids[(i * 7919) % ids.length] as string),
);
const certificateLookupsPerSecond = lookupRate((i) =>
  catalog.certificateDocument(certificateIds[(i * 7919) % certificateIds.length] as string),
);
catalog.close();
rmSync(directory, { recursive: true, force: true });

const figures: Figure[] = [
  {
    name: 'import, entities/s (with certificates)',
    value: Math.round(entitiesPerSecond),
    unit: '/s',
    target: '≥ 20,000',
    meets: entitiesPerSecond >= 20_000,
  },
  {
    name: "lookups by ce_id with certificates (the answer's JSON bytes)",
    value: Math.round(entityLookupsPerSecond),
    unit: '/s',
    target: '≥ 100,000',
    meets: entityLookupsPerSecond >= 100_000,
  },
  {
    name: "lookups by cert_id (the answer's JSON bytes)",
    value: Math.round(certificateLookupsPerSecond),
    unit: '/s',
    target: '≥ 100,000',
    meets: certificateLookupsPerSecond >= 100_000,
  },
];
printFigures(
  `Catalog (${count.toLocaleString('en')} entities, ${summary.certificates.toLocaleString('en')} certificates)`,
  figures,
);
console.log(`  written to ${writeResults('catalog', { count, figures })}`);
