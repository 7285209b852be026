/**
 * Writing bulk results: CSV (the input's columns, then the result columns) or NDJSON (the input's fields,
 * then the result fields), appended with backpressure, and flushed to disk at each checkpoint.
 */
import { once } from 'node:events';
import { createWriteStream, fsyncSync, type WriteStream } from 'node:fs';
import { stringify } from 'csv-stringify/sync';
import type { FileFormat } from './rows.js';

/** What each row gets besides its input. */
export interface RowResult {
  ce_id: string;
  matched_certified_entity_name: string;
  match_score: number | '';
  match_type: string;
  credits_charged: number;
  error: string;
}

export const resultColumns: readonly (keyof RowResult)[] = [
  'ce_id',
  'matched_certified_entity_name',
  'match_score',
  'match_type',
  'credits_charged',
  'error',
];

export class ResultWriter {
  readonly #stream: WriteStream;
  readonly #format: FileFormat;
  #columns: string[] | undefined;
  #bytes: number;

  /** Opens the output, truncated to `keepBytes` (what a checkpoint vouches for) and appended from there. */
  constructor(path: string, format: FileFormat, keepBytes = 0) {
    this.#format = format;
    this.#bytes = keepBytes;
    this.#stream = createWriteStream(path, { flags: keepBytes > 0 ? 'r+' : 'w', start: keepBytes });
  }

  /** Bytes written so far, the header included. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The CSV columns: the input's, then the results'. Written once, unless the output is being resumed. */
  async begin(inputColumns: readonly string[], writeHeader: boolean): Promise<void> {
    this.#columns = [
      ...inputColumns.filter((column) => !(resultColumns as readonly string[]).includes(column)),
      ...resultColumns,
    ];
    if (this.#format === 'csv' && writeHeader) await this.#write(stringify([this.#columns]));
  }

  async write(fields: Record<string, unknown>, result: RowResult): Promise<void> {
    if (this.#format === 'ndjson') {
      await this.#write(`${JSON.stringify({ ...fields, ...result })}\n`);
      return;
    }
    const record = { ...fields, ...result } as Record<string, unknown>;
    const columns = this.#columns ?? [...resultColumns];
    await this.#write(
      stringify([
        columns.map((column) => {
          const value = record[column];
          return value === undefined || value === null
            ? ''
            : typeof value === 'object'
              ? JSON.stringify(value)
              : String(value);
        }),
      ]),
    );
  }

  async #write(text: string): Promise<void> {
    this.#bytes += Buffer.byteLength(text);
    if (!this.#stream.write(text)) await once(this.#stream, 'drain');
  }

  /** Everything written so far is on disk when this resolves. */
  async sync(): Promise<void> {
    if (this.#stream.writableNeedDrain) await once(this.#stream, 'drain');
    await new Promise<void>((resolve, reject) => {
      this.#stream.write('', (error) => (error ? reject(error) : resolve()));
    });
    const fd = (this.#stream as WriteStream & { fd: number | null }).fd;
    if (typeof fd === 'number') fsyncSync(fd);
  }

  async close(): Promise<void> {
    this.#stream.end();
    await once(this.#stream, 'finish');
  }
}
