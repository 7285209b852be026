/**
 * `certmatch data generate`: a seeded registry, and optionally its labelled query set.
 */
import { parseArgs } from 'node:util';
import { QuerySampler } from '../data/generate-queries.js';
import { createRegistryGenerator } from '../data/generate-registry.js';
import { LineWriter } from './ndjson.js';
import { startProgress } from './progress.js';
import { integerOption, UsageError } from './usage-error.js';

export const dataUsage = `Usage: certmatch data generate --count N --seed S --out ENTITIES.ndjson
                             [--queries-out QUERIES.ndjson] [--queries N] [--no-certificates]

Generates a registry of N certified entities that looks real (53 countries, local legal forms and words,
Cyrillic and Greek names with English names, CJK entities under English names, identifiers in each country's
shape, 1-5 certificates each, families of near-duplicates). The same --seed gives the same file.

With --queries-out, also writes a labelled query set: /company request bodies, each with
"label": {"category", "expected_ce_id"}, across the categories exact, case_punctuation, legal_form,
diacritics, english_name, identifier, sibling, typo, abbreviation, word_order, noise, transliteration,
near_miss, wrong_country and unknown. \`certmatch match\` reports accuracy on it.

Options:
  --count N            entities to generate, 1-50000000 (required)
  --seed S             seed, any text (required)
  --out FILE           entity file, NDJSON (required)
  --queries-out FILE   labelled queries, NDJSON
  --queries N          how many queries (default 1000)
  --no-certificates    leave certificates out (smaller files for name-only benchmarks)
`;

interface DataGenerateCommand {
  count: number;
  seed: string;
  out: string;
  queriesOut: string | undefined;
  queries: number;
  certificates: boolean;
}

export function parseDataArgs(argv: string[]): DataGenerateCommand {
  const [subcommand, ...rest] = argv;
  if (subcommand !== 'generate')
    throw new UsageError(`unknown data subcommand "${subcommand ?? ''}"`, dataUsage);
  const { values } = parseArgs({
    args: rest,
    options: {
      count: { type: 'string' },
      seed: { type: 'string' },
      out: { type: 'string' },
      'queries-out': { type: 'string' },
      queries: { type: 'string' },
      'no-certificates': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const count = integerOption(values.count, 'count', dataUsage, 1, 50_000_000);
  if (count === undefined) throw new UsageError('--count is required', dataUsage);
  if (values.seed === undefined) throw new UsageError('--seed is required', dataUsage);
  if (!values.out) throw new UsageError('--out is required', dataUsage);
  return {
    count,
    seed: values.seed,
    out: values.out,
    queriesOut: values['queries-out'],
    queries: integerOption(values.queries, 'queries', dataUsage, 1, 10_000_000) ?? 1000,
    certificates: values['no-certificates'] !== true,
  };
}

export async function runDataGenerate(command: DataGenerateCommand): Promise<void> {
  const registry = createRegistryGenerator({
    count: command.count,
    seed: command.seed,
    certificates: command.certificates,
  });
  const sampler = command.queriesOut
    ? new QuerySampler(registry, { count: command.queries, registryCount: command.count, seed: command.seed })
    : undefined;
  const writer = new LineWriter(command.out);
  const progress = startProgress('Generating', command.count);
  let written = 0;
  for (const generated of registry.entities) {
    await writer.write(JSON.stringify(generated.entity));
    sampler?.offer(generated);
    if (++written % 1000 === 0) progress.update(written);
  }
  progress.update(written);
  progress.stop();
  await writer.close();
  process.stderr.write(`Wrote ${written} entities to ${command.out}\n`);
  if (sampler && command.queriesOut) {
    const queries = sampler.finish(command.queries);
    const queryWriter = new LineWriter(command.queriesOut);
    for (const query of queries) await queryWriter.write(JSON.stringify(query));
    await queryWriter.close();
    process.stderr.write(`Wrote ${queries.length} labelled queries to ${command.queriesOut}\n`);
  }
}
