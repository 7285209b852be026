/** Line-by-line NDJSON input and backpressure-aware output, shared by the commands. */

import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { readLineBatches } from '../engine/index.js';

/** Yields each line of a file (or standard input for "-"), numbered from 1. */
export async function* readLines(path: string): AsyncGenerator<{ line: string; lineNumber: number }> {
  let lineNumber = 0;
  if (path !== '-') {
    for await (const lines of readLineBatches(path))
      for (const line of lines) yield { line, lineNumber: ++lineNumber };
    return;
  }
  // Standard input is a stream, not a file: readline reads it as it comes.
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    yield { line, lineNumber: ++lineNumber };
  }
}

/** Writes lines, waiting for the stream to drain when it is full, so memory stays flat on huge outputs. */
export class LineWriter {
  readonly #stream: WriteStream | NodeJS.WriteStream;

  constructor(path: string) {
    this.#stream = path === '-' ? process.stdout : createWriteStream(path, { encoding: 'utf8' });
  }

  async write(line: string): Promise<void> {
    if (!this.#stream.write(`${line}\n`)) await once(this.#stream, 'drain');
  }

  async close(): Promise<void> {
    if (this.#stream === process.stdout) return;
    const stream = this.#stream as WriteStream;
    stream.end();
    await once(stream, 'finish');
  }
}

/**
 * Counts the lines of a file cheaply, for a progress bar's total. Undefined for standard input, and when no
 * bar will show (standard error is not a terminal): a piped or scripted run does not read the file twice
 * (measured: 13 s of a 69 s `certmatch import` of a 3.7 GB file that was not in the page cache).
 */
export async function countLines(path: string): Promise<number | undefined> {
  if (path === '-' || !process.stderr.isTTY) return undefined;
  let count = 0;
  // indexOf is a native scan: ~10× a byte-by-byte loop (a 3.7 GB file: 21 s → ~2 s).
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const bytes = chunk as Buffer;
    for (let at = bytes.indexOf(10); at !== -1; at = bytes.indexOf(10, at + 1)) count++;
  }
  return count;
}
