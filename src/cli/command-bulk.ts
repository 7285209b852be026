/**
 * `certmatch bulk`: verify a whole file of companies (CSV or NDJSON), charged as the API would charge the
 * same requests, resumable after an interruption.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BulkInputError, type BulkSummary, checkpointPath, requestFields, runBulk } from '../bulk/index.js';
import { SqliteLedger } from '../ledger/index.js';
import { defaultLedgerPath } from './command-admin.js';
import { openMatcher, requireCatalog } from './matcher-source.js';
import { countLines } from './ndjson.js';
import { startProgress } from './progress.js';
import { integerOption, UsageError } from './usage-error.js';

export const bulkUsage = `Usage: certmatch bulk --input FILE --output FILE (--catalog DB | --data ENTITIES.ndjson)
                      [--ledger DB] [--api-key KEY] [--match-rate N] [--quote] [--resume]
                      [--map "Column=field,..."] [--threads T]

Verifies every row of the input and writes one output row per input row: the input's columns, then ce_id,
matched_certified_entity_name, match_score, match_type, credits_charged and error.

  --input FILE     .csv with a header row, or .ndjson of /company request bodies
  --output FILE    .csv or .ndjson (the format follows the name)
  --catalog DB     the certificate catalog to match against (certmatch import; its matching index is
                   loaded from DB.index when current, else built and saved there), or
  --data FILE      an entity file (NDJSON)
  --ledger DB      the credit ledger (default ./${defaultLedgerPath})
  --api-key KEY    the staff key charged (default $CERTMATCH_API_KEY); required unless --quote
  --match-rate N   for rows that give none (default 94)
  --quote          write the results and report what the file would cost; charge nothing
  --resume         continue an interrupted run from its last checkpoint; no company is charged twice
                   (within 24 hours: idempotency keys are kept that long)
  --map PAIRS      CSV columns for request fields, e.g. "Supplier=company_name,Land=company_country"
                   (fields: ${requestFields.join(', ')}); common headers are recognised without it
  --threads T      scoring worker threads (default 2)

Charging is the API's: one credit per exactly matched company (score 94-100), none for loose matches,
misses or companies re-checked within the grace period; a free plan out of credits gets insufficient_credit
in the error column and the run goes on. A bad row is reported in its error column and never stops the run.
Ctrl-C stops at the next checkpoint (every 2,000 rows); resume with the same command and --resume.
Exit codes: 0 done; 1 failed; 2 wrong command line; 130 interrupted (resumable).
`;

export interface BulkCommand {
  input: string;
  output: string;
  catalog?: string;
  data?: string;
  ledger: string;
  apiKey?: string;
  matchRate?: number;
  quote: boolean;
  resume: boolean;
  map: Record<string, string>;
  threads: number;
}

export function parseBulkArgs(argv: string[]): BulkCommand {
  const { values } = parseArgs({
    args: argv,
    options: {
      input: { type: 'string' },
      output: { type: 'string' },
      catalog: { type: 'string' },
      data: { type: 'string' },
      ledger: { type: 'string' },
      'api-key': { type: 'string' },
      'match-rate': { type: 'string' },
      quote: { type: 'boolean', default: false },
      resume: { type: 'boolean', default: false },
      map: { type: 'string' },
      threads: { type: 'string' },
    },
    strict: true,
  });
  for (const required of ['input', 'output'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`, bulkUsage);
  }
  if ((values.data === undefined) === (values.catalog === undefined)) {
    throw new UsageError('give exactly one of --data and --catalog', bulkUsage);
  }
  const apiKey = values['api-key'] ?? process.env.CERTMATCH_API_KEY;
  if (!values.quote && !apiKey)
    throw new UsageError('--api-key is required to charge (or use --quote)', bulkUsage);
  const map: Record<string, string> = {};
  for (const pair of (values.map ?? '').split(',').filter((part) => part.trim() !== '')) {
    const at = pair.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--map: "${pair}" is not Column=field`, bulkUsage);
    map[pair.slice(0, at).trim()] = pair.slice(at + 1).trim();
  }
  return {
    input: values.input as string,
    output: values.output as string,
    catalog: values.catalog,
    data: values.data,
    ledger: values.ledger ?? defaultLedgerPath,
    apiKey,
    matchRate: integerOption(values['match-rate'], 'match-rate', bulkUsage, 0, 1000),
    quote: values.quote,
    resume: values.resume,
    map,
    threads: integerOption(values.threads, 'threads', bulkUsage, 0, 64) ?? 2,
  };
}

function summarize(summary: BulkSummary, quote: boolean): string {
  const band = (name: string) => String(summary.bands[name] ?? 0).padStart(10);
  const rate = Math.round((summary.rows - 0) / Math.max(summary.seconds, 1e-9));
  return [
    `${summary.interrupted ? 'Stopped after' : 'Verified'} ${summary.rows.toLocaleString('en')} rows in ${summary.seconds.toFixed(1)} s (${rate.toLocaleString('en')} rows/s this run${summary.resumedFromRow > 0 ? `, resumed after row ${summary.resumedFromRow}` : ''})`,
    `  exactly matched (94-100)         ${band('very_high')}`,
    `  loosely matched, high (80-93)    ${band('high')}`,
    `  loosely matched, medium (60-79)  ${band('medium')}`,
    `  loosely matched, low (30-59)     ${band('low')}`,
    `  not found                        ${band('not_found')}`,
    `  errors (see the error column)    ${String(summary.errors).padStart(10)}`,
    quote
      ? `  credits this file would cost     ${String(summary.creditsQuoted).padStart(10)} (nothing charged: --quote)`
      : `  credits charged                  ${String(summary.creditsCharged).padStart(10)}`,
  ].join('\n');
}

export async function runBulkCommand(command: BulkCommand): Promise<number> {
  // Before the ledger is opened (and created): a wrong path changes nothing.
  if (command.catalog !== undefined) requireCatalog(command.catalog);
  if (!existsSync(command.input)) {
    throw Object.assign(new Error(`no input file ${command.input}`), { code: 'ENOENT' });
  }
  const ledger = command.apiKey || !command.quote ? new SqliteLedger(command.ledger) : undefined;
  const staff = command.apiKey ? ledger?.authenticate(command.apiKey) : undefined;
  if (command.apiKey && !staff) {
    await ledger?.close();
    process.stderr.write('certmatch bulk: unauthorized: the API key is unknown or revoked\n');
    return 1;
  }
  const { matcher } = await openMatcher(command, { threads: command.threads });
  const total = await countLines(command.input);
  const progress = startProgress(command.quote ? 'Quoting' : 'Verifying', total);
  let stopRequested = false;
  const onInterrupt = () => {
    if (stopRequested) process.exit(130); // a second Ctrl-C: the last checkpoint still holds
    stopRequested = true;
    process.stderr.write('\nStopping at the next checkpoint (Ctrl-C again to stop now)...\n');
  };
  process.on('SIGINT', onInterrupt);
  try {
    const summary = await runBulk({
      input: command.input,
      output: command.output,
      matcher,
      ledger,
      staff,
      matchRate: command.matchRate,
      quote: command.quote,
      resume: command.resume,
      map: command.map,
      onProgress: (rows) => progress.update(rows),
      shouldStop: () => stopRequested,
    });
    progress.stop();
    process.stderr.write(`${summarize(summary, command.quote)}\n`);
    if (summary.interrupted) {
      process.stderr.write(
        `Interrupted: ${command.output} holds the rows so far (checkpoint ${checkpointPath(command.output)}).\n` +
          'Continue with the same command and --resume.\n',
      );
      return 130;
    }
    process.stderr.write(`Results written to ${command.output}\n`);
    return 0;
  } catch (error) {
    if (error instanceof BulkInputError || (error as Error).message.startsWith('--map')) {
      process.stderr.write(`certmatch bulk: ${(error as Error).message}\n`);
      return 1;
    }
    throw error;
  } finally {
    process.off('SIGINT', onInterrupt);
    progress.stop();
    await matcher.close();
    await ledger?.close();
  }
}
