/**
 * certmatch against what a user would pick instead, on the same registry and the same labelled queries:
 * fuzzball (TheFuzz's WRatio and token_set_ratio, default processing) and Fuse.js. Fair by
 * ../shared/reference/peers.md: every system gets the query's country as a filter; fuzzball pairs are scored
 * with its scorer functions directly (its `extract` misreports scores in 2.2.6) over every name (legal,
 * English, trading) of every entity of that country; Fuse.js reports 0 (best) to 1, shown as
 * 100 * (1 - score). A score of 94 or more counts as an exact match for every system, as the registry's band
 * rule says. The peers are brute force and slow, so they run on a printed sample of the queries; certmatch runs
 * on the same sample (and on all queries, for throughput).
 *
 * Run: node --import tsx bench/peers.ts [--entities 100000] [--queries 4000] [--sample 400]
 * Writes bench/results/peers.json and the chart bench/peers-chart.svg.
 */
import { parseArgs } from 'node:util';
import Fuse from 'fuse.js';
import * as fuzzball from 'fuzzball';
import { type AccuracyReport, AccuracyTally } from '../src/data/evaluate.js';
import { type LabelledQuery, QuerySampler } from '../src/data/generate-queries.js';
import { createRegistryGenerator } from '../src/data/generate-registry.js';
import { Random } from '../src/data/random.js';
import {
  type CertifiedEntityRecord,
  type CompanyMatch,
  countryAlpha2,
  MatcherBuilder,
  resolveCountry,
} from '../src/engine/index.js';
import { writePeersChart } from './peers-chart.js';
import { type Figure, printFigures, writeResults } from './report.js';

const { values } = parseArgs({
  options: {
    entities: { type: 'string', default: '100000' },
    queries: { type: 'string', default: '4000' },
    sample: { type: 'string', default: '400' },
    seed: { type: 'string', default: 'peers' },
  },
});
const entityCount = Number(values.entities);
const queryCount = Number(values.queries);
const sampleSize = Number(values.sample);

const generator = createRegistryGenerator({
  count: entityCount,
  seed: values.seed as string,
  certificates: false,
});
const sampler = new QuerySampler(generator, {
  count: queryCount,
  registryCount: entityCount,
  seed: values.seed as string,
});
const entities: CertifiedEntityRecord[] = [];
for (const generated of generator.entities) {
  entities.push(generated.entity);
  sampler.offer(generated);
}
const queries = sampler.finish(queryCount);
// The same random sample for every system (seeded, so every run measures the same queries).
const sampleRandom = new Random(`${values.seed}:sample`);
const sample = queries
  .map((query) => ({ query, key: sampleRandom.next() }))
  .sort((a, b) => a.key - b.key)
  .slice(0, sampleSize)
  .map(({ query }) => query);

interface SystemResult {
  name: string;
  queriesPerSecond: number;
  threads: number;
  queries: number;
  accuracy: AccuracyReport;
}

/** A peer's best candidate as a match result, under the registry's band rule. */
function asMatch(ceId: string, name: string, score: number): CompanyMatch | undefined {
  const rounded = Math.round(score);
  if (rounded < 30) return undefined;
  return {
    ce_id: ceId,
    matched_certified_entity_name: name,
    match_score: rounded,
    match_type: rounded >= 94 ? 'exactly_matched' : 'loosely_matched',
    matched_by: 'name',
  };
}

// Every name of every entity, by country (the filter all systems get).
const namesByCountry = new Map<string, { ceId: string; name: string }[]>();
for (const entity of entities) {
  const list = namesByCountry.get(entity.country) ?? [];
  for (const name of [
    entity.certified_entity_name,
    entity.certified_entity_english_name,
    entity.certified_entity_trading_name,
  ]) {
    if (name) list.push({ ceId: entity.ce_id, name });
  }
  namesByCountry.set(entity.country, list);
}
const countryOf = (query: LabelledQuery) =>
  countryAlpha2(resolveCountry(String(query.company_country))) ?? '';

async function runPeer(
  name: string,
  best: (query: LabelledQuery) => CompanyMatch | undefined,
): Promise<SystemResult> {
  const tally = new AccuracyTally();
  const started = performance.now();
  for (const query of sample) tally.add(query, query.company_name ? best(query) : undefined);
  const seconds = (performance.now() - started) / 1000;
  return {
    name,
    queriesPerSecond: sample.length / seconds,
    threads: 1,
    queries: sample.length,
    accuracy: tally.report(),
  };
}

function fuzzballPeer(scorer: (a: string, b: string, options: object) => number) {
  return (query: LabelledQuery) => {
    let top: { ceId: string; name: string; score: number } | undefined;
    for (const candidate of namesByCountry.get(countryOf(query)) ?? []) {
      const score = scorer(query.company_name as string, candidate.name, { full_process: true });
      if (!top || score > top.score) top = { ...candidate, score };
    }
    return top && asMatch(top.ceId, top.name, top.score);
  };
}

const fuseByCountry = new Map<string, Fuse<{ ceId: string; name: string }>>();
const fusePeer = (query: LabelledQuery) => {
  const country = countryOf(query);
  let fuse = fuseByCountry.get(country);
  if (!fuse) {
    fuse = new Fuse(namesByCountry.get(country) ?? [], { keys: ['name'], includeScore: true });
    fuseByCountry.set(country, fuse);
  }
  const [top] = fuse.search(query.company_name as string, { limit: 1 });
  return top && asMatch(top.item.ceId, top.item.name, 100 * (1 - (top.score ?? 1)));
};

// certmatch: the whole query set for throughput (2 threads), and the sample for accuracy side by side.
const builder = new MatcherBuilder({ threads: 2 });
await builder.addAll(entities);
const matcher = builder.build();
await matcher.matchCompanies(queries.slice(0, 500)); // warm-up
let started = performance.now();
const all = await matcher.matchCompanies(queries);
const certmatchQps = queries.length / ((performance.now() - started) / 1000);
const tallyAll = new AccuracyTally();
all.forEach((item, i) => {
  tallyAll.add(queries[i], 'results' in item ? item.results[0] : undefined);
});
started = performance.now();
const onSample = await matcher.matchCompanies(sample);
const tallySample = new AccuracyTally();
onSample.forEach((item, i) => {
  tallySample.add(sample[i], 'results' in item ? item.results[0] : undefined);
});
await matcher.close();

const systems: SystemResult[] = [
  {
    name: 'certmatch',
    queriesPerSecond: certmatchQps,
    threads: 2,
    queries: sample.length,
    accuracy: tallySample.report(),
  },
  await runPeer('fuzzball WRatio', fuzzballPeer(fuzzball.WRatio)),
  await runPeer('fuzzball token_set_ratio', fuzzballPeer(fuzzball.token_set_ratio)),
  await runPeer('Fuse.js', fusePeer),
];

// Output: a table per system, the chart, the JSON.
const categories = systems[0]?.accuracy.categories.map((category) => category.category) ?? [];
const pad = (text: string, width: number) => text.padEnd(width);
console.log(
  `\nPeers on ${entityCount.toLocaleString('en')} entities, the same ${sample.length} labelled queries (sample of ${queries.length}; seed ${values.seed})`,
);
console.log(`  ${pad('category', 18)}${systems.map((system) => pad(system.name, 26)).join('')}`);
for (const category of categories) {
  const cells = systems.map((system) => {
    const found = system.accuracy.categories.find((c) => c.category === category);
    return pad(found ? `${(found.success * 100).toFixed(1)}% (${found.queries})` : '-', 26);
  });
  console.log(`  ${pad(category, 18)}${cells.join('')}`);
}
console.log(
  `  ${pad('exact precision', 18)}${systems.map((s) => pad(`${(s.accuracy.exactPrecision * 100).toFixed(1)}%`, 26)).join('')}`,
);
console.log(
  `  ${pad('queries/s', 18)}${systems.map((s) => pad(`${Math.round(s.queriesPerSecond).toLocaleString('en')} (${s.threads} thr)`, 26)).join('')}`,
);

const meanOf = (report: AccuracyReport) =>
  report.categories.reduce((sum, category) => sum + category.success, 0) /
  Math.max(1, report.categories.length);
const figures: Figure[] = [
  {
    name: 'certmatch accuracy, mean of categories (sample)',
    value: meanOf(tallySample.report()) * 100,
    unit: '%',
  },
  {
    name: 'certmatch accuracy, mean of categories (all queries)',
    value: meanOf(tallyAll.report()) * 100,
    unit: '%',
  },
  ...systems.slice(1).map((system) => ({
    name: `${system.name} accuracy, mean of categories`,
    value: meanOf(system.accuracy) * 100,
    unit: '%',
  })),
  {
    name: 'certmatch exact precision (all queries)',
    value: tallyAll.report().exactPrecision * 100,
    unit: '%',
    target: '≥ 99.5%',
    meets: tallyAll.report().exactPrecision >= 0.995,
  },
  ...systems.map((system) => ({
    name: `${system.name} queries/s (${system.threads} thread${system.threads > 1 ? 's' : ''})`,
    value: Math.round(system.queriesPerSecond),
    unit: '/s',
  })),
];
printFigures('Peers: summary', figures);

const resultsPath = writeResults('peers', {
  entities: entityCount,
  queries: queries.length,
  sample: sample.length,
  figures,
  systems,
});
console.log(`  written to ${resultsPath}`);
console.log(`  chart written to ${writePeersChart(resultsPath)}`);
