/**
 * The parsing half of a catalog import, in a worker thread: turns a chunk of whole lines of the entity file
 * into the rows to store, while the main thread writes the previous chunk to SQLite. The documents come
 * back already UTF-8 encoded, back to back in one buffer, so the writer binds bytes and encodes nothing.
 *
 * @internal
 */
import assert from 'node:assert/strict';
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
  entities: PackedEntities;
  /** `line` counts from 1 within the chunk. */
  bad: { line: number; message: string }[];
  /** {@link chunkDigest} of the chunk, from which the import digests the file without reading it twice. */
  digest: Uint8Array;
}

/**
 * A chunk's stored entities ({@link StoredEntity}) as columns, entity i's certificates at its range of the
 * certificate columns. A structured clone copies these as a few blocks; an object per entity and per
 * certificate cost the writer thread ~13% of its time to receive (profiled at 1M entities). Identifiers are
 * checked before an entity is stored, so each has its fixed length and they are kept back to back.
 */
export interface PackedEntities {
  count: number;
  /** Every ce_id, {@link ceIdLength} characters each. */
  ceIds: string;
  /** Every name, back to back; entity i's ends at `nameEnds[i]`. */
  names: string;
  nameEnds: Uint32Array;
  updatedAt: Float64Array;
  documentStart: Uint32Array;
  documentLength: Uint32Array;
  certificatesAt: Uint32Array;
  /** Entity i's own certificates end here (exclusive); they start where entity i - 1's end. */
  ownEnds: Uint32Array;
  /** {@link certIdLength} characters each. */
  ownCertIds: string;
  ownStarts: Uint32Array;
  ownLengths: Uint32Array;
  /** Likewise for the certificates it shares with other entities. */
  sharedEnds: Uint32Array;
  sharedCertIds: string;
  sharedBodyStarts: Uint32Array;
  sharedBodyLengths: Uint32Array;
  sharedUpdatedAt: Float64Array;
}

/** `ce_` and 24 letters or digits, as every stored entity's ce_id is. */
export const ceIdLength = 27;
/** `cert_` and 24 letters or digits. */
export const certIdLength = 29;

/** Id `at` of ids of `width` characters kept back to back (the `ceIds` and `*CertIds` of packed entities). */
export function idAt(ids: string, width: number, at: number): string {
  return ids.slice(at * width, (at + 1) * width);
}

export function packEntities(entities: readonly StoredEntity[]): PackedEntities {
  const count = entities.length;
  let owns = 0;
  let shares = 0;
  for (const entity of entities) {
    owns += entity.own.length;
    shares += entity.shared.length;
  }
  const packed: PackedEntities = {
    count,
    ceIds: '',
    names: '',
    nameEnds: new Uint32Array(count),
    updatedAt: new Float64Array(count),
    documentStart: new Uint32Array(count),
    documentLength: new Uint32Array(count),
    certificatesAt: new Uint32Array(count),
    ownEnds: new Uint32Array(count),
    ownCertIds: '',
    ownStarts: new Uint32Array(owns),
    ownLengths: new Uint32Array(owns),
    sharedEnds: new Uint32Array(count),
    sharedCertIds: '',
    sharedBodyStarts: new Uint32Array(shares),
    sharedBodyLengths: new Uint32Array(shares),
    sharedUpdatedAt: new Float64Array(shares),
  };
  const ceIds: string[] = [];
  const names: string[] = [];
  const ownCertIds: string[] = [];
  const sharedCertIds: string[] = [];
  let nameEnd = 0;
  let own = 0;
  let shared = 0;
  entities.forEach((entity, i) => {
    assert.equal(entity.ceId.length, ceIdLength, 'a stored ce_id has its fixed length');
    ceIds.push(entity.ceId);
    names.push(entity.name);
    nameEnd += entity.name.length;
    packed.nameEnds[i] = nameEnd;
    packed.updatedAt[i] = entity.updatedAt;
    packed.documentStart[i] = entity.documentStart;
    packed.documentLength[i] = entity.documentLength;
    packed.certificatesAt[i] = entity.certificatesAt;
    for (const certificate of entity.own) {
      assert.equal(certificate.certId.length, certIdLength, 'a stored cert_id has its fixed length');
      ownCertIds.push(certificate.certId);
      packed.ownStarts[own] = certificate.start;
      packed.ownLengths[own++] = certificate.length;
    }
    packed.ownEnds[i] = own;
    for (const certificate of entity.shared) {
      assert.equal(certificate.certId.length, certIdLength, 'a stored cert_id has its fixed length');
      sharedCertIds.push(certificate.certId);
      packed.sharedBodyStarts[shared] = certificate.bodyStart;
      packed.sharedBodyLengths[shared] = certificate.bodyLength;
      packed.sharedUpdatedAt[shared++] = certificate.updatedAt;
    }
    packed.sharedEnds[i] = shared;
  });
  packed.ceIds = ceIds.join('');
  packed.names = names.join('');
  packed.ownCertIds = ownCertIds.join('');
  packed.sharedCertIds = sharedCertIds.join('');
  return packed;
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
  return {
    lines,
    documents: out.written(),
    entities: packEntities(entities),
    bad,
    digest: chunkDigest(bytes),
  };
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
