/**
 * Scoring kernels with tinybench: normalization, the pair scorer, raw Levenshtein, candidate retrieval.
 * Run: node --import tsx bench/kernels.ts [--time MS]
 */
import { parseArgs } from 'node:util';
import { distance } from 'fastest-levenshtein';
import { Bench } from 'tinybench';
import { registryEntities } from '../src/data/generate-registry.js';
import { createMatcher, normalizeName } from '../src/engine/index.js';
import { explainScore } from '../src/engine/score.js';
import { printFigures, writeResults } from './report.js';

const entities = [...registryEntities({ count: 20_000, seed: 'kernels', certificates: false })];
const names = entities.map((entity) => entity.certified_entity_name);
const normalized = names.map((name) => ({ ...normalizeName(name, true), country: 1 }));
const matcher = await createMatcher({ entities }, { threads: 0 });
const requests = entities
  .slice(0, 1000)
  .map((e) => ({ company_name: e.certified_entity_name, company_country: e.country }));

let i = 0;
const next = () => {
  i = (i + 1) % 1000;
  return i;
};
const { values } = parseArgs({ options: { time: { type: 'string', default: '1000' } } });
const bench = new Bench({ time: Number(values.time) });
bench
  .add('normalizeName (mixed scripts)', () => {
    normalizeName(names[next()] as string);
  })
  .add('explainScore / scoreNormalized (one pair)', () => {
    const k = next();
    explainScore(normalized[k] as never, normalized[(k * 7) % 1000] as never);
  })
  .add('fastest-levenshtein distance (~28-char names)', () => {
    const k = next();
    distance(names[k] as string, names[(k * 7) % 1000] as string);
  })
  .add('candidate retrieval (one query)', () => {
    matcher.candidateIds(requests[next()]);
  });
await bench.run();
await matcher.close();

const figures = bench.tasks.map((task) => {
  const result = task.result as { throughput?: { mean: number }; latency?: { mean: number } } | undefined;
  const latencyMs = result?.latency?.mean ?? Number.NaN;
  return { name: task.name, value: latencyMs * 1000, unit: 'µs/op' };
});
printFigures(`Scoring kernels (tinybench, ${values.time} ms each)`, figures);
console.log(`  written to ${writeResults('kernels', { figures })}`);
