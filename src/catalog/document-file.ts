/**
 * The catalog's documents, back to back in an append-only file beside the SQLite file (as Bitcask keeps its
 * values): SQLite holds where each entity's document is, and a lookup reads it with one `pread`. Kept out of
 * SQLite because a random read of a 16 KiB B-tree leaf costs more than the lookup should in all (measured at
 * 1M entities: ~70k documents/s by rowid from SQLite, ~160k/s by offset from this file), and because every
 * document an import wrote went through SQLite twice (the WAL, then the checkpoint).
 *
 * Bytes are never overwritten: an updated entity's new document is appended and its row points there, so a
 * reader holding an old offset reads the old document whole, never a mix. Bytes no row points at (replaced
 * documents, a rolled-back transaction's) stay until the catalog is imported afresh.
 *
 * @internal
 */
import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  mkdtempSync,
  openSync,
  readSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The documents file is shorter than the catalog says it should be: written by a crash, or replaced. */
export class DocumentFileError extends Error {
  readonly code = 'catalog_documents';
  constructor(path: string, problem: string) {
    super(`the catalog's documents file ${path} ${problem}; import the entity file into a new catalog`);
    this.name = 'DocumentFileError';
  }
}

export class DocumentFile {
  readonly path: string;
  readonly #descriptor: number;
  /** A background flush is under way (see {@link append}). */
  #flushing = false;
  /** Closed while a background flush was under way: the descriptor closes when it ends. */
  #closed = false;

  /**
   * Opens (creating it if need be) the documents file at `path`; without one, an unnamed file that goes when
   * the process does, for a catalog that lives only in memory.
   */
  constructor(path: string | undefined) {
    if (path !== undefined) {
      this.path = path;
      // Appends always land at the end, whatever offset was read last.
      this.#descriptor = openSync(path, 'a+');
      return;
    }
    const directory = mkdtempSync(join(tmpdir(), 'certmatch-documents-'));
    this.path = join(directory, 'documents');
    this.#descriptor = openSync(this.path, 'a+');
    rmSync(directory, { recursive: true, force: true });
  }

  /** Bytes in the file, as another writer may have left it: read at the start of each write transaction. */
  get size(): number {
    return fstatSync(this.#descriptor).size;
  }

  /**
   * Appends `bytes` whole, and starts writing what is appended to the disk in the background, so that the
   * {@link sync} before a commit finds little left to write (an import transaction appends ~400 MB, ~1 s of
   * this machine's disk).
   */
  append(bytes: Uint8Array): void {
    for (let written = 0; written < bytes.length; )
      written += writeSync(this.#descriptor, bytes, written, bytes.length - written);
    if (this.#flushing || bytes.length === 0) return;
    this.#flushing = true;
    // A failure here is found again, and thrown, by the sync the commit waits for.
    fdatasync(this.#descriptor, () => {
      this.#flushing = false;
      if (this.#closed) closeSync(this.#descriptor);
    });
  }

  /** On the disk, not only in the page cache: before a commit that points at what was appended. */
  sync(): void {
    fdatasyncSync(this.#descriptor);
  }

  /** `length` bytes from `at`, into a new buffer. */
  read(at: number, length: number): Buffer {
    const bytes = Buffer.allocUnsafe(length);
    this.readInto(bytes, 0, length, at);
    return bytes;
  }

  /** Fills `target[offset, offset + length)` with the file's bytes from `at`. */
  readInto(target: Uint8Array, offset: number, length: number, at: number): void {
    for (let done = 0; done < length; ) {
      const count = readSync(this.#descriptor, target, offset + done, length - done, at + done);
      if (count === 0)
        throw new DocumentFileError(this.path, `ends at ${at + done}, before byte ${at + length}`);
      done += count;
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // Not under a flush in flight, which would then flush whatever file took the descriptor's number.
    if (!this.#flushing) closeSync(this.#descriptor);
  }
}

/** Bytes of the documents file, [start, end) of it; empty at first. */
interface DocumentWindow {
  bytes: Buffer;
  start: number;
  end: number;
  /** When it was last read from, counted in reads. */
  usedAt: number;
}

/**
 * Reads byte ranges of the documents file through a few windows of 2 MiB. The matching index reads every
 * entity's head in entity_id order, which is the file's order but for entities updated since they were first
 * imported: their documents were appended later, at the end. So the reads are a few sequential streams
 * interleaved (the first import's documents, each later import's), and a window follows each: a read just
 * past a window (within a window's length) moves that window on; any other miss moves the window least
 * recently used. With a single window, a catalog with every third entity updated refilled it for each read.
 */
export class DocumentWindows {
  static readonly count = 4;
  static readonly bytes = 2 * 2 ** 20;
  readonly #documents: DocumentFile;
  readonly #fileBytes: number;
  readonly #windows: DocumentWindow[] = Array.from({ length: DocumentWindows.count }, () => ({
    bytes: Buffer.allocUnsafe(DocumentWindows.bytes),
    start: 0,
    end: 0,
    usedAt: 0,
  }));
  #reads = 0;
  /** Windows filled, for tests. */
  fills = 0;

  constructor(documents: DocumentFile) {
    this.#documents = documents;
    this.#fileBytes = documents.size;
  }

  /** `length` bytes from `at`, as UTF-8 text. */
  text(at: number, length: number): string {
    if (length > DocumentWindows.bytes) return this.#documents.read(at, length).toString('utf8');
    this.#reads++;
    let window = this.#windows.find((w) => at >= w.start && at + length <= w.end);
    if (window === undefined) {
      window = this.#windowToMove(at);
      // Never less than asked for: a file cut short is an error, not bytes of another entity.
      const count = Math.max(length, Math.min(DocumentWindows.bytes, this.#fileBytes - at));
      this.#documents.readInto(window.bytes, 0, count, at);
      window.start = at;
      window.end = at + count;
      this.fills++;
    }
    window.usedAt = this.#reads;
    return window.bytes.toString('utf8', at - window.start, at - window.start + length);
  }

  /**
   * The window whose stream a read at `at` continues (it starts before `at` and ends less than a window's
   * length before it; the nearest, if several), or else the one least recently used.
   */
  #windowToMove(at: number): DocumentWindow {
    let continued: DocumentWindow | undefined;
    let leastUsed = this.#windows[0] as DocumentWindow;
    for (const window of this.#windows) {
      const gap = at - window.end;
      const continues = window.end > window.start && at >= window.start && gap < DocumentWindows.bytes;
      if (continues && (continued === undefined || window.end > continued.end)) continued = window;
      if (window.usedAt < leastUsed.usedAt) leastUsed = window;
    }
    return continued ?? leastUsed;
  }
}
