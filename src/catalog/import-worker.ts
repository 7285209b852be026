/**
 * The parsing half of a catalog import, in a worker thread: turns a chunk of whole lines of the entity file
 * into the rows to store, while the main thread writes the previous chunk to SQLite. The documents come
 * back already UTF-8 encoded, back to back in one buffer, so the writer binds bytes and encodes nothing.
 *
 * @internal
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import {
  ChunkWriter,
  type StoredEntity,
  type StoredLine,
  storeEntityLine,
  storeEntityText,
} from './entity-line.js';

export interface ParseChunkTask {
  /** UTF-8 bytes of whole lines (the chunk ends at a newline or at the end of the file). */
  bytes: Uint8Array;
}

export interface ParseChunkResult {
  /** Lines in the chunk, blank ones included, so the writer can number lines. */
  lines: number;
  /** Every entity's document and shared certificates, back to back; each entity says where its own are. */
  documents: Uint8Array;
  entities: StoredEntity[];
  /** `line` counts from 1 within the chunk. */
  bad: { line: number; message: string }[];
  /** {@link chunkDigest} of the chunk, from which the import digests the file without reading it twice. */
  digest: Uint8Array;
}

/** The SHA-256 of a chunk's bytes. */
export function chunkDigest(bytes: Uint8Array): Uint8Array {
  return createHash('sha256').update(bytes).digest();
}

const newline = 0x0a;

export function parseEntityChunk(task: ParseChunkTask): ParseChunkResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  // Documents hold about what their lines hold; defaults for absent fields can add a little.
  const out = new ChunkWriter(bytes.length + (bytes.length >> 3));
  // Lines that are not UTF-8 are decoded with replacement characters, as a string decoder does, and parsed.
  const allUtf8 = isUtf8(bytes);
  const entities: StoredEntity[] = [];
  const bad: ParseChunkResult['bad'] = [];
  let lines = 0;
  for (let start = 0; start < bytes.length; ) {
    const newlineAt = bytes.indexOf(newline, start);
    const end = newlineAt < 0 ? bytes.length : newlineAt;
    lines++;
    const stored = storeLine(bytes, start, end, out, allUtf8);
    if (stored !== undefined && 'problem' in stored) bad.push({ line: lines, message: stored.problem });
    else if (stored !== undefined) entities.push(stored.entity);
    start = end + 1;
  }
  return { lines, documents: out.written(), entities, bad, digest: chunkDigest(bytes) };
}

/** One line: undefined when blank. */
function storeLine(
  bytes: Buffer,
  start: number,
  end: number,
  out: ChunkWriter,
  allUtf8: boolean,
): StoredLine | undefined {
  if (allUtf8 || isUtf8(bytes.subarray(start, end))) {
    const stored = storeEntityLine(bytes, start, end, out);
    if (stored !== undefined) return stored;
  }
  const text = bytes.toString('utf8', start, end);
  return text.trim() === '' ? undefined : storeEntityText(text, out);
}

export default parseEntityChunk;
