/**
 * A snapshot file: named sections of bytes (mostly typed arrays) saved as one file, so that what took seconds
 * to build from its source loads as byte copies. The matching engine saves its built index this way, and the
 * catalog the locations it holds in memory.
 *
 * Layout: the 8-byte magic, a little-endian u32 header length, the header (JSON), then each section's bytes
 * back to back, every one starting at a multiple of 8 so typed arrays view it without copying.
 *
 * A snapshot is only ever a cache of its source. It is refused (and the caller builds from the source) when
 * another version of the code that reads it wrote it (its `fingerprint`), when it was made from another
 * source (its `tag`, e.g. a catalog's content id), or when it is damaged.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';

const magic = Buffer.from('CMSNAP01', 'latin1');
const alignment = 8;
/** Bumped when the container's layout changes. */
const containerFormat = 1;

/** The snapshot cannot be used; the caller builds from the source instead. */
export class SnapshotFileError extends Error {
  readonly code = 'snapshot_file';
  constructor(
    readonly reason: 'missing' | 'unreadable' | 'damaged' | 'other_code' | 'other_source',
    message: string,
  ) {
    super(message);
    this.name = 'SnapshotFileError';
  }
}

/** What a snapshot is: the code that wrote it and the source it was made from. */
export interface SnapshotIdentity {
  /** Changes whenever the code that writes or reads the sections changes how they mean. */
  fingerprint: string;
  /** Names the source (a catalog passes its content id). */
  tag: string;
}

/** What a reader expects, and what it calls the file in its messages ("index snapshot"). */
export interface ExpectedSnapshot extends SnapshotIdentity {
  kind: string;
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
  writeFile(path: string, { fingerprint, tag }: SnapshotIdentity): void {
    const body: Uint8Array[] = [];
    for (const { bytes } of this.#sections) body.push(bytes, padding(bytes.byteLength));
    const digest = createHash('sha256');
    for (const piece of body) digest.update(piece);
    const header: SnapshotHeader = {
      format: containerFormat,
      fingerprint,
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

/**
 * Reads a snapshot file written by {@link SnapshotWriter}, checking it is whole, written by the same code
 * (its fingerprint) and of the same source (its tag).
 */
export class SnapshotReader {
  readonly meta: Record<string, unknown>;
  readonly #buffer: Buffer;
  readonly #sections = new Map<string, { offset: number; byteLength: number }>();

  constructor(path: string, expected: ExpectedSnapshot) {
    let buffer: Buffer;
    try {
      buffer = readFileSync(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new SnapshotFileError('missing', `no ${expected.kind} at ${path}`);
      // A cache that cannot be read is a cache missed, not a failure of what it speeds up.
      throw new SnapshotFileError(
        'unreadable',
        `cannot read the ${expected.kind} ${path}: ${(error as Error).message}`,
      );
    }
    if (buffer.length < magic.length + 4 || !buffer.subarray(0, magic.length).equals(magic)) {
      throw new SnapshotFileError('damaged', `${path} is not a certmatch ${expected.kind}`);
    }
    const headerLength = buffer.readUInt32LE(magic.length);
    let header: SnapshotHeader;
    try {
      header = JSON.parse(
        buffer.toString('utf8', magic.length + 4, magic.length + 4 + headerLength),
      ) as SnapshotHeader;
    } catch {
      throw new SnapshotFileError('damaged', `${path} has a damaged header`);
    }
    if (header.format !== containerFormat || header.fingerprint !== expected.fingerprint) {
      throw new SnapshotFileError('other_code', `${path} was written by another version of certmatch`);
    }
    if (header.tag !== expected.tag) {
      throw new SnapshotFileError('other_source', `${path} was made from other data than this`);
    }
    let offset = magic.length + 4 + headerLength;
    offset += (alignment - (offset % alignment)) % alignment;
    const bodyStart = offset;
    for (const { name, byteLength } of header.sections) {
      this.#sections.set(name, { offset, byteLength });
      offset += byteLength + ((alignment - (byteLength % alignment)) % alignment);
    }
    if (offset !== buffer.length) {
      throw new SnapshotFileError('damaged', `${path} is truncated or has trailing bytes`);
    }
    if (createHash('sha256').update(buffer.subarray(bodyStart)).digest('hex') !== header.digest) {
      throw new SnapshotFileError('damaged', `${path} is damaged (its digest does not match)`);
    }
    // Buffers from readFileSync are not pooled at this size, so byteOffset is 0 and sections stay aligned.
    if (buffer.byteOffset % alignment !== 0) buffer = Buffer.from(buffer);
    this.#buffer = buffer;
    this.meta = header.meta;
  }

  #section(name: string): { offset: number; byteLength: number } {
    const section = this.#sections.get(name);
    if (!section) throw new SnapshotFileError('damaged', `snapshot section ${name} is missing`);
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
  array<T extends Int32Array | Uint32Array | Uint16Array | Uint8Array | Float64Array>(
    name: string,
    Type: { new (length: number): T; BYTES_PER_ELEMENT: number },
  ): T {
    const bytes = this.bytes(name);
    if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0) {
      throw new SnapshotFileError('damaged', `snapshot section ${name} has a partial element`);
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
