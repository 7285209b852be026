/**
 * `certmatch match`: match a file of `/company` request bodies against an entity file.
 */
import { parseArgs } from 'node:util';
import { AccuracyTally, formatAccuracy } from '../data/evaluate.js';
import type { LabelledQuery } from '../data/generate-queries.js';
import { type CompanyMatch, type MatcherOptions, matchBandOf, topMax } from '../engine/index.js';
import { openMatcher } from './matcher-source.js';
import { countLines, LineWriter, readLines } from './ndjson.js';
import { startProgress } from './progress.js';
import { integerOption, UsageError } from './usage-error.js';

export const matchUsage = `Usage: certmatch match (--data ENTITIES.ndjson | --catalog DB) --input QUERIES.ndjson --output RESULTS.ndjson
                       [--match-rate N] [--top K] [--threads T]

Matches each input line, a /company request body
  {"company_name", "company_country", "company_identifiers", "match_rate"}
against the certified entities in ENTITIES.ndjson and writes one line per input line:
  {"companies_request_index": i, "results": [{"ce_id", "matched_certified_entity_name",
   "match_score", "match_type", "matched_by"}, ...]}
best first; "results" is empty when nothing reaches the match rate. A bad input line gets an "error"
instead and the run goes on. Input lines carrying a "label" (as \`certmatch data generate\` writes them)
are also scored for accuracy in the summary. "-" reads standard input / writes standard output.

Options:
  --data FILE        certified entities, NDJSON
  --catalog DB       or a catalog made by \`certmatch import\` (one of the two is required); its matching
                     index is loaded from DB.index when current, else built and saved there
  --input FILE       request bodies, NDJSON (required)
  --output FILE      results, NDJSON (required)
  --match-rate N     match rate for lines that give none (30-100; default: the line's own, else 94)
  --top K            results per line, 1-${topMax} (default 1)
  --threads T        scoring worker threads, 0-64 (default 2; 0 scores on the main thread)
  --chunk N          lines matched concurrently (default 2000)
`;

interface MatchCommand {
  data: string | undefined;
  catalog: string | undefined;
  input: string;
  output: string;
  matchRate: number | undefined;
  top: number;
  threads: number;
  chunk: number;
}

export function parseMatchArgs(argv: string[]): MatchCommand {
  const { values } = parseArgs({
    args: argv,
    options: {
      data: { type: 'string' },
      catalog: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      'match-rate': { type: 'string' },
      top: { type: 'string' },
      threads: { type: 'string' },
      chunk: { type: 'string' },
    },
    strict: true,
  });
  for (const required of ['input', 'output'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`, matchUsage);
  }
  if ((values.data === undefined) === (values.catalog === undefined)) {
    throw new UsageError('give exactly one of --data and --catalog', matchUsage);
  }
  return {
    data: values.data,
    catalog: values.catalog,
    input: values.input as string,
    output: values.output as string,
    matchRate: integerOption(values['match-rate'], 'match-rate', matchUsage, 0, 1000),
    top: integerOption(values.top, 'top', matchUsage, 1, topMax) ?? 1,
    threads: integerOption(values.threads, 'threads', matchUsage, 0, 64) ?? 2,
    chunk: integerOption(values.chunk, 'chunk', matchUsage, 1, 100_000) ?? 2000,
  };
}

type ParsedLine = { index: number; body: unknown } | { index: number; error: string };

export async function runMatch(command: MatchCommand): Promise<void> {
  const loadStarted = performance.now();
  let invalidEntities = 0;
  const matcherOptions: MatcherOptions = {
    threads: command.threads,
    onInvalidEntity: (problem) => {
      invalidEntities++;
      if (invalidEntities <= 10)
        process.stderr.write(
          `${command.data ?? command.catalog}:${problem.position}: skipped: ${problem.message}\n`,
        );
    },
  };
  const { matcher, fromSnapshot } = await openMatcher(command, matcherOptions);
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  process.stderr.write(
    `${fromSnapshot ? 'Loaded the index snapshot of' : 'Indexed'} ${matcher.entityCount.toLocaleString('en')} entities in ${loadSeconds.toFixed(1)} s` +
      (invalidEntities > 0 ? ` (${invalidEntities} lines skipped)` : '') +
      '\n',
  );
  const total = await countLines(command.input);
  const progress = startProgress('Matching', total);
  const writer = new LineWriter(command.output);
  const bands = new Map<string, number>();
  const accuracy = new AccuracyTally();
  let done = 0;
  let errors = 0;
  let labelled = 0;
  const started = performance.now();

  const flush = async (chunk: ParsedLine[]) => {
    const answers = await Promise.all(
      chunk.map(async (item) => {
        if ('error' in item) return { item, error: { code: 'invalid_json', message: item.error } };
        try {
          return {
            item,
            results: await matcher.matchCompany(applyDefaultRate(item.body, command.matchRate), {
              top: command.top,
            }),
          };
        } catch (error) {
          const typed = error as { code?: string; message: string; errors?: unknown };
          if (typed.code !== 'validation_error') throw error;
          return { item, error: { code: typed.code, message: typed.message, errors: typed.errors } };
        }
      }),
    );
    for (const answer of answers) {
      if ('error' in answer) {
        errors++;
        await writer.write(
          JSON.stringify({ companies_request_index: answer.item.index, error: answer.error }),
        );
      } else {
        const results = answer.results as CompanyMatch[];
        const band = results[0] ? matchBandOf(results[0].match_score) : 'not_found';
        bands.set(band, (bands.get(band) ?? 0) + 1);
        await writer.write(JSON.stringify({ companies_request_index: answer.item.index, results }));
        if ('body' in answer.item && hasLabel(answer.item.body)) {
          labelled++;
          accuracy.add(answer.item.body, results[0]);
        }
      }
    }
    done += chunk.length;
    progress.update(done);
  };

  let chunk: ParsedLine[] = [];
  let index = 0;
  for await (const { line } of readLines(command.input)) {
    if (line.trim() === '') continue;
    try {
      chunk.push({ index, body: JSON.parse(line) });
    } catch (error) {
      chunk.push({ index, error: `not valid JSON: ${(error as Error).message}` });
    }
    index++;
    if (chunk.length >= command.chunk) {
      await flush(chunk);
      chunk = [];
    }
  }
  await flush(chunk);
  progress.stop();
  await writer.close();
  const seconds = (performance.now() - started) / 1000;
  await matcher.close();
  process.stderr.write(`${summarize(done, errors, bands, seconds)}\n`);
  if (labelled > 0)
    process.stderr.write(
      `\nAccuracy on ${labelled} labelled queries:\n${formatAccuracy(accuracy.report())}\n`,
    );
  process.stderr.write(`\nResults written to ${command.output}\n`);
}

function hasLabel(body: unknown): body is LabelledQuery {
  return typeof body === 'object' && body !== null && 'label' in body;
}

function applyDefaultRate(body: unknown, matchRate: number | undefined): unknown {
  if (matchRate === undefined || typeof body !== 'object' || body === null || Array.isArray(body))
    return body;
  return 'match_rate' in body ? body : { ...body, match_rate: matchRate };
}

function summarize(done: number, errors: number, bands: Map<string, number>, seconds: number): string {
  const order = ['very_high', 'high', 'medium', 'low', 'not_found'];
  const labels: Record<string, string> = {
    very_high: 'exactly matched (94-100)',
    high: 'loosely matched, high (80-93)',
    medium: 'loosely matched, medium (60-79)',
    low: 'loosely matched, low (30-59)',
    not_found: 'not found',
  };
  const lines = order.map(
    (band) => `  ${labels[band]?.padEnd(34)} ${String(bands.get(band) ?? 0).padStart(8)}`,
  );
  return [
    `Matched ${done} lines in ${seconds.toFixed(2)} s (${Math.round(done / Math.max(seconds, 1e-9))} lines/s)`,
    ...lines,
    `  ${'errors (bad input lines)'.padEnd(34)} ${String(errors).padStart(8)}`,
  ].join('\n');
}
