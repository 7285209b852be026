/**
 * The parsing half of a catalog import, in a worker thread: turns a chunk of whole lines of the entity file
 * into the rows to store, while the main thread writes the previous chunk to SQLite. The documents come
 * back already UTF-8 encoded, back to back in one buffer, so the writer binds bytes and encodes nothing.
 *
 * @internal
 */
import { type EntityDocument, type ParsedLine, parseEntityLine, type StoredEntity } from './entity-line.js';

export interface ParseChunkTask {
  /** UTF-8 bytes of whole lines (the chunk ends at a newline or at the end of the file). */
  bytes: Uint8Array;
}

export interface ParseChunkResult {
  /** Lines in the chunk, blank ones included, so the writer can number lines. */
  lines: number;
  /** Every entity's document, back to back; each entity says where its own is. */
  documents: Uint8Array;
  entities: StoredEntity[];
  /** `line` counts from 1 within the chunk. */
  bad: { line: number; message: string }[];
}

export function parseEntityChunk(task: ParseChunkTask): ParseChunkResult {
  const bytes = task.bytes;
  const lines = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8').split('\n');
  if (lines.at(-1) === '') lines.pop();
  const parsed: EntityDocument[] = [];
  const bad: ParseChunkResult['bad'] = [];
  lines.forEach((line, i) => {
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (text.trim() === '') return;
    const result: ParsedLine = parseEntityLine(text);
    if ('problem' in result) bad.push({ line: i + 1, message: result.problem });
    else parsed.push(result.entity);
  });
  // One encoding pass for the chunk; each document's byte range follows from the lengths.
  const documents = Buffer.from(parsed.map((entity) => entity.document).join(''), 'utf8');
  let at = 0;
  const entities = parsed.map(({ document: _text, documentBytes, ...entity }): StoredEntity => {
    const stored = { ...entity, documentStart: at, documentLength: documentBytes };
    at += documentBytes;
    return stored;
  });
  return { lines: lines.length, documents, entities, bad };
}

export default parseEntityChunk;
