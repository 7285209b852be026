/**
 * The parsing half of a catalog import, in a worker thread: turns a chunk of whole lines of the entity file
 * into the rows to store, while the main thread writes the previous chunk to SQLite. Parsing and serializing
 * were 40% of a single-threaded import.
 *
 * @internal
 */
import { type ParsedLine, parseEntityLine, type StoredEntity } from './entity-line.js';

export interface ParseChunkTask {
  /** UTF-8 bytes of whole lines (the chunk ends at a newline or at the end of the file). */
  bytes: Uint8Array;
}

export interface ParseChunkResult {
  /** Lines in the chunk, blank ones included, so the writer can number lines. */
  lines: number;
  entities: StoredEntity[];
  /** `line` counts from 1 within the chunk. */
  bad: { line: number; message: string }[];
}

const decoder = new TextDecoder();

export function parseEntityChunk(task: ParseChunkTask): ParseChunkResult {
  const lines = decoder.decode(task.bytes).split('\n');
  if (lines.at(-1) === '') lines.pop();
  const entities: StoredEntity[] = [];
  const bad: ParseChunkResult['bad'] = [];
  lines.forEach((line, i) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return;
    const parsed: ParsedLine = parseEntityLine(text);
    if ('problem' in parsed) bad.push({ line: i + 1, message: parsed.problem });
    else entities.push(parsed.entity);
  });
  return { lines: lines.length, entities, bad };
}

export default parseEntityChunk;
