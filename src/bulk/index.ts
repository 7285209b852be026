/**
 * Bulk verification of a file of companies (CSV or NDJSON): matched with the engine, charged by the ledger
 * exactly as the API charges the same requests, streamed in constant memory, resumable after an
 * interruption without charging any company twice.
 *
 * @example
 * ```ts
 * const summary = await runBulk({ input: 'suppliers.csv', output: 'verified.csv', matcher, ledger, staff });
 * ```
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CompanyMatch, type Matcher, matchBandOf, QueryValidationError } from '../engine/index.js';
import { type ApiKeyInfo, type Ledger, LedgerError } from '../ledger/index.js';
import { ResultWriter, type RowResult } from './output.js';
import { type BulkRow, csvRows, formatOf, ndjsonRows } from './rows.js';

export { columnMapping, type FileFormat, formatOf, requestFields } from './rows.js';

/** Rows matched and charged together: one ledger group commit, one checkpoint. */
export const bulkChunkRows = 2_000;
/** The endpoint bulk verifications are recorded under in usage reports. */
export const bulkEndpoint = 'bulk';

export interface BulkOptions {
  input: string;
  output: string;
  matcher: Matcher;
  /** The ledger and the staff key charged; without them (a quote without an account), nothing is read or written. */
  ledger?: Ledger;
  staff?: ApiKeyInfo;
  /** Applied to rows that give none (CSV rows never do). */
  matchRate?: number;
  /** Report what the file would cost; charge nothing. */
  quote?: boolean;
  /** Continue the interrupted run that wrote `output`. */
  resume?: boolean;
  /** CSV column → request field, for headers certmatch does not recognise. */
  map?: Record<string, string>;
  onProgress?: (rowsDone: number) => void;
  /** Checked between chunks: when it returns true the run stops at a checkpoint (Ctrl-C). */
  shouldStop?: () => boolean;
}

export interface BulkSummary {
  rows: number;
  /** Rows by band: very_high (exact), high, medium, low; not_found; error. */
  bands: Record<string, number>;
  creditsCharged: number;
  /** In a quote: credits the file would cost. */
  creditsQuoted: number;
  errors: number;
  seconds: number;
  /** True when the run stopped early (shouldStop); resume it with `resume: true`. */
  interrupted: boolean;
  resumedFromRow: number;
}

/** An input or output the bulk run refuses before touching anything. */
export class BulkInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BulkInputError';
  }
}

interface Checkpoint {
  version: 1;
  runId: string;
  input: string;
  inputBytes: number;
  rowsDone: number;
  outputBytes: number;
  quote: boolean;
  /** In a quote: the exact companies already counted, so a resumed quote counts each once. */
  quoted?: string[];
  summary: Omit<BulkSummary, 'seconds' | 'interrupted' | 'resumedFromRow'>;
}

export const checkpointPath = (output: string) => `${output}.checkpoint.json`;

function writeCheckpoint(path: string, checkpoint: Checkpoint): void {
  const temporary = `${path}.tmp`;
  writeFileSync(temporary, JSON.stringify(checkpoint));
  renameSync(temporary, path); // atomic: a crash leaves the old checkpoint or the new one
}

export async function runBulk(options: BulkOptions): Promise<BulkSummary> {
  const inputFormat = formatOf(options.input);
  const outputFormat = formatOf(options.output);
  if (!inputFormat) throw new BulkInputError(`${options.input}: name the input .csv or .ndjson`);
  if (!outputFormat) throw new BulkInputError(`${options.output}: name the output .csv or .ndjson`);
  if (resolve(options.input) === resolve(options.output)) {
    throw new BulkInputError('the output would overwrite the input: choose another --output');
  }
  if (!options.quote && (!options.ledger || !options.staff)) {
    throw new BulkInputError('charging needs a ledger and a staff key (--api-key), or --quote');
  }
  const started = performance.now();
  const checkpointFile = checkpointPath(options.output);
  const inputBytes = statSync(options.input).size;
  let checkpoint: Checkpoint | undefined;
  if (options.resume) {
    if (!existsSync(checkpointFile)) throw new BulkInputError(`nothing to resume: no ${checkpointFile}`);
    checkpoint = JSON.parse(readFileSync(checkpointFile, 'utf8')) as Checkpoint;
    if (checkpoint.input !== options.input || checkpoint.inputBytes !== inputBytes) {
      throw new BulkInputError(
        `${checkpointFile} belongs to a run over another input; start afresh without --resume`,
      );
    }
    if (checkpoint.quote !== (options.quote === true)) {
      throw new BulkInputError(
        `resume with the same mode as the interrupted run (${checkpoint.quote ? 'with' : 'without'} --quote)`,
      );
    }
    truncateSync(options.output, checkpoint.outputBytes);
  } else if (existsSync(checkpointFile)) {
    throw new BulkInputError(
      `${options.output} has an unfinished run (${checkpointFile}): pass --resume to continue it, or delete the checkpoint`,
    );
  }
  const runId = checkpoint?.runId ?? randomUUID();
  const summary: Checkpoint['summary'] = checkpoint?.summary ?? {
    rows: 0,
    bands: {},
    creditsCharged: 0,
    creditsQuoted: 0,
    errors: 0,
  };
  const skipRows = checkpoint?.rowsDone ?? 0;
  const writer = new ResultWriter(options.output, outputFormat, checkpoint?.outputBytes ?? 0);
  // A quote charges each exact company once, unless the account re-verifies it for free.
  const quoted = new Set<string>(checkpoint?.quoted ?? []);

  // A resumed output already has its header.
  const writeHeader = (checkpoint?.outputBytes ?? 0) === 0;
  let csvColumns: string[] = [];
  const rows =
    inputFormat === 'csv'
      ? csvRows(options.input, options.map ?? {}, (header) => {
          csvColumns = header;
        })
      : ndjsonRows(options.input);
  let begun = false;
  const begin = async () => {
    if (begun) return;
    begun = true;
    const columns =
      inputFormat === 'csv'
        ? csvColumns
        : ['company_name', 'company_country', 'company_identifiers', 'match_rate'];
    await writer.begin(columns, writeHeader);
  };

  const processChunk = async (chunk: BulkRow[]) => {
    await begin();
    const results = await Promise.all(chunk.map((row) => answerRow(row)));
    for (const [i, row] of chunk.entries()) await writer.write(row.fields, results[i] as RowResult);
    summary.rows += chunk.length;
  };

  const answerRow = async (row: BulkRow): Promise<RowResult> => {
    const empty: RowResult = {
      ce_id: '',
      matched_certified_entity_name: '',
      match_score: '',
      match_type: '',
      credits_charged: 0,
      error: '',
    };
    const fail = (error: string): RowResult => {
      summary.errors++;
      summary.bands.error = (summary.bands.error ?? 0) + 1;
      return { ...empty, error };
    };
    if (row.error !== undefined || row.request === undefined) return fail(row.error ?? 'empty row');
    const request =
      options.matchRate !== undefined && row.request.match_rate === undefined
        ? { ...row.request, match_rate: options.matchRate }
        : row.request;
    let best: CompanyMatch | undefined;
    try {
      [best] = await options.matcher.matchCompany(request);
    } catch (error) {
      if (error instanceof QueryValidationError) return fail(`validation_error: ${error.message}`);
      throw error;
    }
    const band = best ? matchBandOf(best.match_score) : 'not_found';
    summary.bands[band] = (summary.bands[band] ?? 0) + 1;
    const answer: RowResult = best
      ? {
          ...empty,
          ce_id: best.ce_id,
          matched_certified_entity_name: best.matched_certified_entity_name,
          match_score: best.match_score,
          match_type: best.match_type,
        }
      : { ...empty, match_type: 'not_found' };
    if (options.quote) {
      if (best?.match_type === 'exactly_matched' && !quoted.has(best.ce_id)) {
        const free =
          options.ledger && options.staff
            ? options.ledger.inGracePeriod(options.staff.accountId, best.ce_id)
            : false;
        quoted.add(best.ce_id);
        if (!free) {
          summary.creditsQuoted++;
          answer.credits_charged = 1;
        }
      }
      return answer;
    }
    const ledger = options.ledger as Ledger;
    const staff = options.staff as ApiKeyInfo;
    try {
      // The same key on a resumed run replays the first charge instead of charging again.
      const charge = await ledger.recordVerification(
        {
          accountId: staff.accountId,
          keyId: staff.id,
          endpoint: bulkEndpoint,
          ceId: best?.ce_id ?? null,
          matchType: best?.match_type ?? 'not_found',
        },
        {
          key: `bulk:${runId}:${row.row}`,
          fingerprint: createHash('sha256').update(JSON.stringify(request)).digest('base64url'),
        },
      );
      answer.credits_charged = charge.creditsCharged;
      summary.creditsCharged += charge.creditsCharged;
      return answer;
    } catch (error) {
      if (error instanceof LedgerError) {
        summary.errors++;
        return { ...answer, credits_charged: 0, error: error.code };
      }
      throw error;
    }
  };

  let chunk: BulkRow[] = [];
  let interrupted = false;
  const checkpointNow = async () => {
    await writer.sync();
    writeCheckpoint(checkpointFile, {
      version: 1,
      runId,
      input: options.input,
      inputBytes,
      rowsDone: summary.rows,
      outputBytes: writer.bytes,
      quote: options.quote === true,
      ...(options.quote ? { quoted: [...quoted] } : {}),
      summary,
    });
  };
  try {
    for await (const row of rows) {
      if (row.row <= skipRows) continue;
      chunk.push(row);
      if (chunk.length >= bulkChunkRows) {
        await processChunk(chunk);
        chunk = [];
        await checkpointNow();
        options.onProgress?.(summary.rows);
        if (options.shouldStop?.()) {
          interrupted = true;
          break;
        }
      }
    }
    if (!interrupted) {
      await processChunk(chunk); // also writes the CSV header of an input without rows
      options.onProgress?.(summary.rows);
    }
  } finally {
    await writer.close();
  }
  if (!interrupted) rmSync(checkpointFile, { force: true });
  return {
    ...summary,
    seconds: (performance.now() - started) / 1000,
    interrupted,
    resumedFromRow: skipRows,
  };
}
