/**
 * A built index saved as one file, so that a service restarts in seconds instead of rebuilding: at 1M
 * entities the build takes ~40 s, almost all of it single-threaded insertion into JavaScript maps, while the
 * snapshot is mostly typed arrays that load as byte copies.
 *
 * Layout: the 8-byte magic, a little-endian u32 header length, the header (JSON), then each section's bytes
 * back to back, every one starting at a multiple of 8 so typed arrays view it without copying.
 *
 * A snapshot is only ever a cache of what the entities say. It is refused (and the caller rebuilds) when it
 * was written by other engine code (its fingerprint hashes the engine's own modules and the reference
 * tables, so a change to normalization can never meet an index normalized the old way), when its `tag` is
 * not the one the caller expects (a catalog passes its content id), or when it is damaged.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const magic = Buffer.from('CMINDEX1', 'latin1');
const alignment = 8;
/** Bumped when the container or any section's layout changes. */
const snapshotFormat = 2;

/** The snapshot cannot be used; the index has to be built from the entities instead. */
export class IndexSnapshotError extends Error {
  readonly code = 'index_snapshot';
  constructor(
    readonly reason: 'missing' | 'damaged' | 'other_engine' | 'other_source',
    message: string,
  ) {
    super(message);
    this.name = 'IndexSnapshotError';
  }
}

interface SectionEntry {
  name: string;
  byteLength: number;
}

interface SnapshotHeader {
  format: number;
  fingerprint: string;
  tag: string;
  /**
   * SHA-256 of every byte after the header (sections and their padding): a flipped bit in a posting list
   * would not fail any decoding, it would quietly change answers. Checking costs ~0.3 s at 1M entities.
   */
  digest: string;
  meta: Record<string, unknown>;
  sections: SectionEntry[];
}

let engineFingerprintMemo: string | undefined;

/**
 * A hash of the code and tables that decide what the index holds: every module of the engine as it runs
 * (TypeScript from source, JavaScript from dist/) and every reference table.
 */
export function engineFingerprint(): string {
  if (engineFingerprintMemo !== undefined) return engineFingerprintMemo;
  const hash = createHash('sha256').update(`format ${snapshotFormat}\n`);
  const engineDirectory = dirname(fileURLToPath(import.meta.url));
  const referenceDirectory = fileURLToPath(new URL('../../data/reference/', import.meta.url));
  for (const directory of [engineDirectory, referenceDirectory]) {
    for (const name of readdirSync(directory).sort()) {
      if (!/\.(ts|js|json)$/.test(name) || name.endsWith('.d.ts')) continue;
      hash.update(`${name}\n`).update(readFileSync(join(directory, name)));
    }
  }
  engineFingerprintMemo = hash.digest('hex');
  return engineFingerprintMemo;
}

/** Collects named sections and writes them as one snapshot file. */
export class SnapshotWriter {
  readonly #sections: { name: string; bytes: Uint8Array }[] = [];
  readonly #names = new Set<string>();
  readonly meta: Record<string, unknown> = {};

  /** Adds the bytes of a typed array (or a Buffer) under a name; they are not copied. */
  bytes(name: string, view: ArrayBufferView): void {
    if (this.#names.has(name)) throw new Error(`snapshot section ${name} written twice`);
    this.#names.add(name);
    this.#sections.push({ name, bytes: new Uint8Array(view.buffer, view.byteOffset, view.byteLength) });
  }

  text(name: string, value: string): void {
    this.bytes(name, Buffer.from(value, 'utf8'));
  }

  /**
   * Writes the file atomically: to a temporary name, flushed, then renamed over `path`, so a reader sees the
   * old snapshot or the new one, never half of one.
   */
  writeFile(path: string, tag: string): void {
    const body: Uint8Array[] = [];
    for (const { bytes } of this.#sections) body.push(bytes, padding(bytes.byteLength));
    const digest = createHash('sha256');
    for (const piece of body) digest.update(piece);
    const header: SnapshotHeader = {
      format: snapshotFormat,
      fingerprint: engineFingerprint(),
      tag,
      digest: digest.digest('hex'),
      meta: this.meta,
      sections: this.#sections.map(({ name, bytes }) => ({ name, byteLength: bytes.byteLength })),
    };
    const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
    const length = Buffer.alloc(4);
    length.writeUInt32LE(headerBytes.byteLength);
    const pieces: Uint8Array[] = [
      magic,
      length,
      headerBytes,
      padding(magic.length + 4 + headerBytes.length),
      ...body,
    ];
    const temporary = `${path}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w');
    try {
      // One piece at a time, each until whole: a write may take fewer bytes than asked (Linux caps one call
      // at ~2 GiB), and a short write must not leave a truncated snapshot.
      for (const piece of pieces) {
        for (let written = 0; written < piece.byteLength; ) {
          written += writeSync(fd, piece, written, piece.byteLength - written);
        }
      }
      fsyncSync(fd);
    } catch (error) {
      closeSync(fd);
      rmSync(temporary, { force: true });
      throw error;
    }
    closeSync(fd);
    renameSync(temporary, path);
  }
}

function padding(length: number): Uint8Array {
  return new Uint8Array((alignment - (length % alignment)) % alignment);
}

/** Reads a snapshot file written by {@link SnapshotWriter}, checking it is whole and meant for this engine. */
export class SnapshotReader {
  readonly meta: Record<string, unknown>;
  readonly #buffer: Buffer;
  readonly #sections = new Map<string, { offset: number; byteLength: number }>();

  constructor(path: string, expectedTag: string) {
    let buffer: Buffer;
    try {
      buffer = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new IndexSnapshotError('missing', `no index snapshot at ${path}`);
      throw error;
    }
    if (buffer.length < magic.length + 4 || !buffer.subarray(0, magic.length).equals(magic)) {
      throw new IndexSnapshotError('damaged', `${path} is not a certmatch index snapshot`);
    }
    const headerLength = buffer.readUInt32LE(magic.length);
    let header: SnapshotHeader;
    try {
      header = JSON.parse(
        buffer.toString('utf8', magic.length + 4, magic.length + 4 + headerLength),
      ) as SnapshotHeader;
    } catch {
      throw new IndexSnapshotError('damaged', `${path} has a damaged header`);
    }
    if (header.format !== snapshotFormat || header.fingerprint !== engineFingerprint()) {
      throw new IndexSnapshotError('other_engine', `${path} was written by another version of the engine`);
    }
    if (header.tag !== expectedTag) {
      throw new IndexSnapshotError('other_source', `${path} indexes other entities than these`);
    }
    let offset = magic.length + 4 + headerLength;
    offset += (alignment - (offset % alignment)) % alignment;
    const bodyStart = offset;
    for (const { name, byteLength } of header.sections) {
      this.#sections.set(name, { offset, byteLength });
      offset += byteLength + ((alignment - (byteLength % alignment)) % alignment);
    }
    if (offset !== buffer.length) {
      throw new IndexSnapshotError('damaged', `${path} is truncated or has trailing bytes`);
    }
    if (createHash('sha256').update(buffer.subarray(bodyStart)).digest('hex') !== header.digest) {
      throw new IndexSnapshotError('damaged', `${path} is damaged (its digest does not match)`);
    }
    // Buffers from readFileSync are not pooled at this size, so byteOffset is 0 and sections stay aligned.
    if (buffer.byteOffset % alignment !== 0) buffer = Buffer.from(buffer);
    this.#buffer = buffer;
    this.meta = header.meta;
  }

  #section(name: string): { offset: number; byteLength: number } {
    const section = this.#sections.get(name);
    if (!section) throw new IndexSnapshotError('damaged', `snapshot section ${name} is missing`);
    return section;
  }

  has(name: string): boolean {
    return this.#sections.has(name);
  }

  /** A view of a section's bytes; valid as long as the reader. */
  bytes(name: string): Buffer {
    const { offset, byteLength } = this.#section(name);
    return this.#buffer.subarray(offset, offset + byteLength);
  }

  text(name: string): string {
    return this.bytes(name).toString('utf8');
  }

  /** A copy of a section in a fresh array of the given type (ownership passes to the caller). */
  array<T extends Int32Array | Uint32Array | Uint16Array>(
    name: string,
    Type: { new (length: number): T; BYTES_PER_ELEMENT: number },
  ): T {
    const bytes = this.bytes(name);
    if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0) {
      throw new IndexSnapshotError('damaged', `snapshot section ${name} has a partial element`);
    }
    const copy = new Type(bytes.byteLength / Type.BYTES_PER_ELEMENT);
    new Uint8Array(copy.buffer).set(bytes);
    return copy;
  }

  /** A copy of a section in shared memory, for buffers worker threads read. */
  shared(name: string): SharedArrayBuffer {
    const bytes = this.bytes(name);
    const shared = new SharedArrayBuffer(Math.max(1, bytes.byteLength));
    new Uint8Array(shared).set(bytes);
    return shared;
  }
}
