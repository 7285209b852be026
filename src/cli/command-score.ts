/**
 * `certmatch score`: the 0–100 similarity of two names, or of many pairs from a file.
 */
import { parseArgs } from 'node:util';
import { explainNames, matchTypeOf, resolveCountry, scoreNames } from '../engine/index.js';
import { LineWriter, readLines } from './ndjson.js';
import { UsageError } from './usage-error.js';

export const scoreUsage = `Usage: certmatch score "NAME A" "NAME B" [--country CC] [--explain]
       certmatch score --input PAIRS.ndjson [--output SCORES.ndjson] [--country CC]

Scores two company names 0-100 exactly as the matcher scores a query against a candidate, and prints the
band (exactly_matched 94-100, loosely_matched 30-93, not matched below 30). With --explain, prints how the
score was reached: aligned tokens, each feature and each penalty, as JSON.

With --input, each line is {"a": "...", "b": "..."} (optionally "country", "other_country"); each output
line is {"a", "b", "score", "match_type"}, or {"line", "error"} for a bad line.

Options:
  --country CC     country of both names (name, alpha-2 or alpha-3); enables the country check
  --explain        print the explanation (two-name form only)
  --input FILE     pairs, NDJSON ("-" for standard input)
  --output FILE    scores, NDJSON (default: standard output)
`;

interface ScoreCommand {
  names: [string, string] | undefined;
  input: string | undefined;
  output: string;
  country: string | undefined;
  explain: boolean;
}

export function parseScoreArgs(argv: string[]): ScoreCommand {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      country: { type: 'string' },
      explain: { type: 'boolean', default: false },
      input: { type: 'string' },
      output: { type: 'string' },
    },
    strict: true,
  });
  if (values.country !== undefined && resolveCountry(values.country) === 0) {
    throw new UsageError(`--country: unknown country "${values.country}"`, scoreUsage);
  }
  if (values.input !== undefined) {
    if (positionals.length > 0)
      throw new UsageError('give either two names or --input, not both', scoreUsage);
    return {
      names: undefined,
      input: values.input,
      output: values.output ?? '-',
      country: values.country,
      explain: false,
    };
  }
  if (positionals.length !== 2) throw new UsageError('expected exactly two names', scoreUsage);
  return {
    names: positionals as [string, string],
    input: undefined,
    output: '-',
    country: values.country,
    explain: values.explain === true,
  };
}

export async function runScore(command: ScoreCommand): Promise<void> {
  const options = command.country === undefined ? {} : { country: command.country };
  if (command.names) {
    const [a, b] = command.names;
    if (command.explain) {
      process.stdout.write(`${JSON.stringify(explainNames(a, b, options), null, 2)}\n`);
      return;
    }
    const score = scoreNames(a, b, options);
    process.stdout.write(`${score}\t${matchTypeOf(score) ?? 'not_matched'}\n`);
    return;
  }
  const writer = new LineWriter(command.output);
  for await (const { line, lineNumber } of readLines(command.input as string)) {
    if (line.trim() === '') continue;
    await writer.write(JSON.stringify(scorePairLine(line, lineNumber, command.country)));
  }
  await writer.close();
}

function scorePairLine(line: string, lineNumber: number, defaultCountry: string | undefined): object {
  let pair: unknown;
  try {
    pair = JSON.parse(line);
  } catch (error) {
    return { line: lineNumber, error: `not valid JSON: ${(error as Error).message}` };
  }
  const { a, b, country, other_country: otherCountry } = (pair ?? {}) as Record<string, unknown>;
  if (typeof a !== 'string' || typeof b !== 'string' || a.length > 500 || b.length > 500) {
    return { line: lineNumber, error: '"a" and "b" must be strings of at most 500 characters' };
  }
  const options: { country?: string; otherCountry?: string } = {};
  const chosenCountry = typeof country === 'string' ? country : defaultCountry;
  if (chosenCountry !== undefined) options.country = chosenCountry;
  if (typeof otherCountry === 'string') options.otherCountry = otherCountry;
  const score = scoreNames(a, b, options);
  return { a, b, score, match_type: matchTypeOf(score) ?? 'not_matched' };
}
