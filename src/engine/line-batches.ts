/**
 * Reads a text file in chunks of whole lines, one per 1 MiB read: as batches of lines, or undecoded.
 * `readline`'s async iterator costs an event and a promise per line; profiled on a catalog import, the main
 * thread sat idle a third of the time waiting on it. Here a consumer loops synchronously over each batch.
 */
import { open } from 'node:fs/promises';

const chunkBytes = 1 << 20;

function withoutCarriageReturn(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

/** Yields the file's lines in order, in batches; line endings (\n or \r\n) are removed. */
export async function* readLineBatches(path: string): AsyncGenerator<string[]> {
  for await (const { bytes } of readWholeLineChunks(path)) {
    // A chunk ends at a line break (a byte no multi-byte character contains) or at the end of the file, so
    // it decodes on its own.
    const lines = bytes.toString('utf8').split('\n');
    if (bytes[bytes.length - 1] === newline) lines.pop();
    yield lines.map(withoutCarriageReturn);
  }
}

/**
 * Yields the file's bytes in chunks that end at a line break (the last may lack one), undecoded, with the
 * number of lines each holds. For readers that decode lines elsewhere, such as the index build's workers,
 * which decode only the part of each line they read. Each chunk is read into a buffer of its own after the
 * previous chunk's unfinished line, so no chunk is copied to join it to that line; that line is copied out
 * before the chunk is yielded, so the chunk's whole `ArrayBuffer` belongs to the consumer, which may transfer
 * it to a worker rather than copy it.
 */
export async function* readWholeLineChunks(path: string): AsyncGenerator<{ bytes: Buffer; lines: number }> {
  const file = await open(path, 'r');
  try {
    let carry: Buffer | undefined;
    for (;;) {
      const carried = carry?.length ?? 0;
      const buffer = Buffer.allocUnsafeSlow(carried + chunkBytes);
      carry?.copy(buffer, 0);
      const { bytesRead } = await file.read(buffer, carried, chunkBytes, null);
      const filled = carried + bytesRead;
      if (bytesRead === 0) {
        if (filled > 0) yield { bytes: buffer.subarray(0, filled), lines: 1 };
        return;
      }
      const lastBreak = buffer.lastIndexOf(newline, filled - 1);
      if (lastBreak < 0) {
        carry = buffer.subarray(0, filled); // one line longer than a chunk: read on
        continue;
      }
      carry = lastBreak + 1 < filled ? Buffer.from(buffer.subarray(lastBreak + 1, filled)) : undefined;
      const bytes = buffer.subarray(0, lastBreak + 1);
      yield { bytes, lines: countLineBreaks(bytes) };
    }
  } finally {
    await file.close();
  }
}

const newline = 0x0a;

function countLineBreaks(bytes: Buffer): number {
  let count = 0;
  for (let at = bytes.indexOf(newline); at >= 0; at = bytes.indexOf(newline, at + 1)) count++;
  return count;
}
