/**
 * The certificate catalog: certified entities and their certificates in SQLite, so that the service returns
 * them without keeping certificate data in the JavaScript heap. The matching index is built from it.
 *
 * Each entity is stored as its answer document (UTF-8 JSON) holding the certificates that cover it alone,
 * so a lookup reads one document and parses nothing; a certificate that covers several entities is stored
 * once and appended to each covered entity's certificates when read (after the entity's own). Documents live
 * in an append-only file beside the SQLite file (see document-file.ts); SQLite holds where each one is, and
 * everything else. Re-importing upserts by `updated_at`: a line older than what is stored changes nothing; a
 * newer one replaces the entity with the certificates it lists.
 *
 * @example
 * ```ts
 * const catalog = new Catalog('catalog.db');
 * await catalog.importFile('registry.ndjson', { onBadLine: (p) => console.error(p) });
 * catalog.entity('ce_KMi1zsb9CH2EorSzOJ9YEgtV'); // the entity with its certificates
 * ```
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import Database from 'better-sqlite3';
import { Piscina } from 'piscina';
import { type CertificateRecord, type CertifiedEntityRecord, readWholeLineChunks } from '../engine/index.js';
import { SnapshotFileError, SnapshotReader, SnapshotWriter } from '../runtime/snapshot-file.js';
import { workerLocation } from '../runtime/worker-location.js';
import type { CheckpointTask } from './checkpoint-worker.js';
import { DocumentFile, DocumentFileError, DocumentWindows } from './document-file.js';
import { certificateJsonPrefix, entityJsonPrefix } from './entity-line.js';
import {
  ceIdLength,
  certIdLength,
  chunkDigest,
  idAt,
  type ParseChunkResult,
  type ParseChunkTask,
} from './import-worker.js';
import {
  type CertificatePlacementRow,
  type EntityLocationRow,
  Locations,
  locationsSnapshot,
} from './locations.js';
import { inInsertionOrder, type Placement } from './placement-order.js';

export { type CatalogMatcher, indexSnapshotPath, openCatalogMatcher } from './catalog-matcher.js';
export { DocumentFileError } from './document-file.js';

const comma = Buffer.from(',');

/** Bytes of the catalog file mapped into memory for reads: all of it, at 1M entities (~0.3 GB). */
const catalogMmapBytes = 2 ** 30;
/** SQLite page cache for the catalog, in KiB. */
const catalogCacheKiB = 131_072;
/**
 * SQLite page cache while importing, in KiB: room for the random-key B-trees a transaction rewrites (at 1M
 * entities ~180 MB of `ce_id` and `cert_id` pages) besides the pages being appended. Measured at 1M, in
 * alternating runs: 128 MiB 14.4–15.1k entities/s, 256 MiB 14.4k, 512 MiB 17.7–20.1k (three runs; peak
 * RSS 1.1 GB), 1 GiB 15.8k.
 */
const importCacheKiB = 524_288;

/**
 * Lines per import transaction: as many as the catalog held when it began, within these bounds. Certificate
 * ids and ce_ids arrive at random, so a transaction touches nearly every page of their B-trees and writes
 * each again (to the WAL, then to the catalog file), however few rows it adds: that costs in proportion to
 * what is already stored, and growing transactions with the catalog keeps it a constant share per line.
 * At 1M entities, 10,000-line transactions rewrote ~175 MB of index pages each (27 GB written to import a
 * 3.8 GB file). Entities are written as they arrive, so a transaction holds no more in memory than its
 * certificate placements (~3 per line); the first ones commit early, so a small import is soon visible.
 */
export const importTransactionLines = { min: 10_000, max: 100_000 };

/**
 * Chunks being parsed ahead of the writer, so the parsers keep busy while it commits a transaction; bounds
 * memory (~2 x 64 MiB).
 */
const maxChunksInFlight = 64;

/**
 * The catalog's storage format. Format 5 stores each entity as its answer document with its own certificates
 * inside (see entity-line.ts), in the documents file. A file of any other format is refused rather than
 * misread.
 */
const catalogFormat = 5;

/** Larger pages than SQLite's 4 KiB: they halve the B-tree depth of the random-key indexes. */
const catalogPageBytes = 16_384;

/** Certificate placements written by one INSERT (four parameters each). */
const placementsPerInsert = 64;

const schema = `
-- Each entity, and where its answer document is in the documents file (UTF-8 JSON, certificates last,
-- holding those that cover it alone).
CREATE TABLE IF NOT EXISTS entities (
  -- Explicit, so that VACUUM keeps it: own_certificates point at entities by it (one B-tree step, not two).
  entity_id INTEGER PRIMARY KEY,
  ce_id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  document_at INTEGER NOT NULL,
  document_length INTEGER NOT NULL,
  -- Bytes before ',"certificates":[': the entity without certificates, which the matching index reads.
  certificates_at INTEGER NOT NULL,
  -- The shared certificates it holds, space-separated in the line's order; NULL when none.
  shared_ids TEXT,
  updated_at INTEGER NOT NULL
);
-- Where each certificate covering one entity sits in that entity's document. A row can outlive its
-- certificate (the entity was updated without it); a lookup checks the bytes start with the certificate.
CREATE TABLE IF NOT EXISTS own_certificates (
  cert_id TEXT PRIMARY KEY,
  entity_id INTEGER NOT NULL,
  start INTEGER NOT NULL,
  length INTEGER NOT NULL
) WITHOUT ROWID;
-- Certificates covering several entities, each stored once.
CREATE TABLE IF NOT EXISTS shared_certificates (
  cert_id TEXT PRIMARY KEY,
  body BLOB NOT NULL,
  updated_at INTEGER NOT NULL
);
-- content_id changes in the same transaction as any change to the entities: a matching-index snapshot
-- tagged with it is current exactly when the ids are equal. documents_bytes is how much of the documents
-- file committed rows point into.
CREATE TABLE IF NOT EXISTS catalog_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT OR IGNORE INTO catalog_meta (key, value) VALUES ('content_id', lower(hex(randomblob(16))));
INSERT OR IGNORE INTO catalog_meta (key, value) VALUES ('documents_bytes', '0');
`;

/** The catalog file was written by an incompatible version of certmatch. */
export class CatalogFormatError extends Error {
  readonly code = 'catalog_format';
  constructor(path: string, found: number) {
    super(
      `${path} is a catalog of format ${found}; this certmatch reads format ${catalogFormat}. Import the entity ` +
        `file into a new catalog, or remove ${path} and the files beside it that start with its name, then import again.`,
    );
    this.name = 'CatalogFormatError';
  }
}

/** The catalog file cannot be opened: its directory is missing, it is not an SQLite database, or it is locked. */
export class CatalogOpenError extends Error {
  readonly code = 'catalog_open';
  constructor(path: string, cause: Error) {
    super(`cannot open the catalog ${path}: ${cause.message}`, { cause });
    this.name = 'CatalogOpenError';
  }
}

/**
 * An import was started on a catalog object that is importing already. Its transactions span many chunks, so
 * two imports on one connection would mix their writes; the second is refused and the first goes on.
 */
export class CatalogBusyError extends Error {
  readonly code = 'catalog_busy';
  constructor(path: string) {
    super(`${path} is already importing a file; wait for that import to finish`);
    this.name = 'CatalogBusyError';
  }
}

export interface BadLine {
  line: number;
  message: string;
}

export interface ImportOptions {
  /** Hears each bad line, which is skipped. */
  onBadLine?: (problem: BadLine) => void;
  /** Hears how many lines are stored, after each chunk of ~1 MiB. */
  onProgress?: (lines: number) => void;
}

export interface ImportSummary {
  lines: number;
  imported: number;
  unchanged: number;
  skipped: number;
  certificates: number;
  seconds: number;
  /**
   * The file is byte for byte the one last imported whole into this catalog, so nothing was read: an
   * upsert of the same lines would have changed nothing.
   */
  fileUnchanged: boolean;
}

/** How {@link Catalog.cacheLocations} went. */
export interface CachedLocations {
  seconds: number;
  /** `file` when loaded from the locations file, `catalog` when read from SQLite (and saved, unless in memory). */
  origin: 'file' | 'catalog';
  /** Why the locations read from SQLite could not be saved for the next start, when they could not. */
  saveProblem?: string;
}

/** A certified entity as the API returns it: the stored record with all its certificates. */
export type CatalogEntity = CertifiedEntityRecord & { certificates: CertificateRecord[] };

export class Catalog {
  /** The file, as given; `:memory:` for a catalog that lives only in this process. */
  readonly path: string;
  readonly #database: Database.Database;
  readonly #documents: DocumentFile;
  readonly #setDocumentsBytes: Database.Statement;
  readonly #insertEntity: Database.Statement;
  readonly #updateEntityIfNewer: Database.Statement;
  readonly #insertOwnCertificate: Database.Statement;
  /** {@link placementsPerInsert} rows at once. */
  readonly #insertOwnCertificates: Database.Statement;
  readonly #moveOwnCertificate: Database.Statement;
  readonly #insertSharedCertificate: Database.Statement;
  readonly #updateSharedCertificateIfNewer: Database.Statement;
  readonly #renewContentId: Database.Statement;
  /** An import is running: its transaction stays open between chunks. */
  #importing = false;
  readonly #entityById: Database.Statement;
  readonly #entityWithNameById: Database.Statement;
  readonly #sharedCertificateById: Database.Statement;
  readonly #ownCertificateById: Database.Statement;
  readonly #sharedIdsByRowId: Database.Statement;
  readonly #dataVersion: Database.Statement;
  /** Where every document is, held by {@link cacheLocations}, and the data version it was read at. */
  #locations: { index: Locations; dataVersion: number } | undefined;

  constructor(path: string) {
    this.path = path;
    let database: Database.Database | undefined;
    let found: number;
    let empty: boolean;
    try {
      database = new Database(path);
      found = database.pragma('user_version', { simple: true }) as number;
      empty = database.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() === 0;
    } catch (error) {
      // better-sqlite3 says what is wrong (no such directory, not a database, locked) but not with which file.
      database?.close();
      throw new CatalogOpenError(path, error as Error);
    }
    this.#database = database;
    if (!empty && found !== catalogFormat) {
      this.#database.close();
      throw new CatalogFormatError(path, found);
    }
    // Takes effect only before the first table is written, so on a new file.
    this.#database.pragma(`page_size = ${catalogPageBytes}`);
    this.#database.pragma('journal_mode = WAL');
    // The catalog is re-importable (upserts), so a crash mid-import costs a re-run, not data: NORMAL suffices.
    this.#database.pragma('synchronous = NORMAL');
    // Read-mostly and looked up at random: map the file and keep a larger page cache than SQLite's 2 MB
    // default (measured at 100k entities: lookups by ce_id 19k/s with the defaults).
    this.#database.pragma(`mmap_size = ${catalogMmapBytes}`);
    this.#database.pragma(`cache_size = -${catalogCacheKiB}`);
    this.#database.exec(schema);
    this.#database.pragma(`user_version = ${catalogFormat}`);
    const inMemory = path === ':memory:' || path === '';
    try {
      this.#documents = new DocumentFile(inMemory ? undefined : documentsPath(path));
    } catch (error) {
      this.#database.close();
      throw new CatalogOpenError(path, error as Error);
    }
    const committedBytes = Number(
      this.#database.prepare("SELECT value FROM catalog_meta WHERE key = 'documents_bytes'").pluck().get(),
    );
    const documentsSize = this.#documents.size;
    if (documentsSize < committedBytes) {
      this.close();
      throw new DocumentFileError(
        this.#documents.path,
        `holds ${documentsSize} bytes, but the catalog's entities point into ${committedBytes}`,
      );
    }
    this.#setDocumentsBytes = this.#database.prepare(
      "UPDATE catalog_meta SET value = ? WHERE key = 'documents_bytes' AND CAST(value AS INTEGER) < ?",
    );
    // Every write is an INSERT OR IGNORE, then an UPDATE of the row it found. An upsert (ON CONFLICT DO
    // UPDATE, OR REPLACE) is a statement that may write twice, so SQLite keeps a statement journal for it: a
    // copy of every page it touches, spilled to a temporary file past 64 KiB. With 16 KiB pages that was
    // ~37 KB written per entity, seven times the data imported (measured with strace at 30k entities).
    this.#insertEntity = this.#database.prepare(`
      INSERT OR IGNORE INTO entities
        (name, document_at, document_length, certificates_at, shared_ids, updated_at, ce_id)
      VALUES (?, ?, ?, ?, ?, ?, ?)`);
    // The same values in the same order, then the updated_at to compare with: a line no newer than the
    // stored entity changes nothing.
    this.#updateEntityIfNewer = this.#database
      .prepare(`
      UPDATE entities SET name = ?, document_at = ?, document_length = ?, certificates_at = ?, shared_ids = ?,
        updated_at = ?
      WHERE ce_id = ? AND updated_at < ?
      RETURNING entity_id`)
      .pluck();
    this.#insertOwnCertificate = this.#database.prepare(
      'INSERT OR IGNORE INTO own_certificates (cert_id, entity_id, start, length) VALUES (?, ?, ?, ?)',
    );
    this.#insertOwnCertificates = this.#database.prepare(
      `INSERT OR IGNORE INTO own_certificates (cert_id, entity_id, start, length) VALUES ${Array(
        placementsPerInsert,
      )
        .fill('(?, ?, ?, ?)')
        .join(', ')}`,
    );
    this.#moveOwnCertificate = this.#database.prepare(
      'UPDATE own_certificates SET entity_id = ?, start = ?, length = ? WHERE cert_id = ?',
    );
    this.#insertSharedCertificate = this.#database.prepare(
      'INSERT OR IGNORE INTO shared_certificates (cert_id, body, updated_at) VALUES (?, ?, ?)',
    );
    this.#updateSharedCertificateIfNewer = this.#database.prepare(
      'UPDATE shared_certificates SET body = ?, updated_at = ? WHERE cert_id = ? AND updated_at < ?',
    );
    this.#renewContentId = this.#database.prepare(
      "UPDATE catalog_meta SET value = lower(hex(randomblob(16))) WHERE key = 'content_id'",
    );
    // Two statements: the name costs a string per lookup (~15%), and most callers have it already.
    this.#entityById = this.#database
      .prepare('SELECT document_at, document_length, shared_ids FROM entities WHERE ce_id = ?')
      .raw();
    this.#entityWithNameById = this.#database
      .prepare('SELECT document_at, document_length, shared_ids, name FROM entities WHERE ce_id = ?')
      .raw();
    this.#sharedIdsByRowId = this.#database
      .prepare('SELECT shared_ids FROM entities WHERE entity_id = ?')
      .pluck();
    this.#dataVersion = this.#database.prepare('PRAGMA data_version').pluck();
    this.#sharedCertificateById = this.#database
      .prepare('SELECT body FROM shared_certificates WHERE cert_id = ?')
      .pluck();
    this.#ownCertificateById = this.#database
      .prepare(
        `SELECT e.document_at + o.start, o.length FROM own_certificates o
         JOIN entities e ON e.entity_id = o.entity_id
         WHERE o.cert_id = ? AND o.start + o.length <= e.document_length`,
      )
      .raw();
  }

  /**
   * Changes whenever an import changes an entity or a certificate: what a matching-index snapshot built from
   * this catalog is tagged with.
   */
  get contentId(): string {
    return this.#database
      .prepare("SELECT value FROM catalog_meta WHERE key = 'content_id'")
      .pluck()
      .get() as string;
  }

  /**
   * Streams an NDJSON entity file into the catalog, in chunks of whole lines of ~1 MiB parsed in worker
   * threads, and transactions of thousands of lines. A bad line is reported through `onBadLine` with its
   * number and skipped; the rest is imported.
   */
  async importFile(path: string, options: ImportOptions = {}): Promise<ImportSummary> {
    if (this.#importing) throw new CatalogBusyError(this.path);
    this.#importing = true;
    // This connection's own commits leave the data version as it was: the locations are read again after.
    const cachedLocations = this.#locations !== undefined;
    this.#locations = undefined;
    try {
      return await this.#importFile(path, options);
    } finally {
      this.#importing = false;
      if (cachedLocations) this.cacheLocations();
    }
  }

  async #importFile(path: string, options: ImportOptions): Promise<ImportSummary> {
    const started = performance.now();
    // Restarting `serve --data` with the same file would otherwise parse all of it again (~2 min at 1M).
    // Hashing it first costs a read (~3 s at 1M, from the page cache), so only a file of the same length as
    // the last one is hashed: a new registry file is read once, by the import.
    const last = this.#lastImportedFile();
    if (
      last !== undefined &&
      last.bytes === statSync(path).size &&
      (await fileDigest(path)) === last.digest
    ) {
      const seconds = (performance.now() - started) / 1000;
      return {
        lines: 0,
        imported: 0,
        unchanged: 0,
        skipped: 0,
        certificates: 0,
        seconds,
        fileUnchanged: true,
      };
    }
    // Mapping the file helps random reads but slowed writes here (measured: 4.6k -> 2.6k entities/s).
    this.#database.pragma('mmap_size = 0');
    this.#database.pragma(`cache_size = -${importCacheKiB}`);
    try {
      return await this.#importLines(path, options, started);
    } finally {
      this.#database.pragma(`mmap_size = ${catalogMmapBytes}`);
      this.#database.pragma(`cache_size = -${catalogCacheKiB}`);
    }
  }

  /** The length and {@link fileDigest} of the last file imported whole, stored as `bytes:digest`. */
  #lastImportedFile(): { bytes: number; digest: string } | undefined {
    const value = this.#database
      .prepare("SELECT value FROM catalog_meta WHERE key = 'last_import'")
      .pluck()
      .get() as string | undefined;
    if (value === undefined) return undefined;
    const [bytes, digest] = value.split(':');
    return { bytes: Number(bytes), digest: digest as string };
  }

  async #importLines(path: string, options: ImportOptions, started: number): Promise<ImportSummary> {
    const summary: ImportSummary = {
      lines: 0,
      imported: 0,
      unchanged: 0,
      skipped: 0,
      certificates: 0,
      seconds: 0,
      fileUnchanged: false,
    };
    // Each parsed chunk's entities are written as it arrives, inside a transaction that ends, after its
    // certificates' placements are written, once it holds enough lines (see importTransactionLines). A failed
    // transaction rolls back whole; a re-run redoes it: imports are upserts.
    const database = this.#database;
    const entitiesBefore = this.entityCount;
    let transaction:
      | (ImportTransaction & { lines: number; linesMax: number; changesBefore: number })
      | undefined;
    const store = (result: ParseChunkResult) => {
      if (transaction === undefined) {
        database.exec('BEGIN IMMEDIATE');
        const { min, max } = importTransactionLines;
        transaction = {
          lines: 0,
          linesMax: Math.min(max, Math.max(min, entitiesBefore + summary.imported)),
          changesBefore: summary.imported + summary.certificates,
          placements: [],
          // Read now that this connection holds the write lock: no other writer appends until it commits.
          documentsEnd: this.#documents.size,
        };
      }
      this.#storeEntities(result, summary, transaction);
      transaction.lines += result.lines;
      if (transaction.lines >= transaction.linesMax) commit();
      // Stored, if not yet committed: a transaction at 1M entities takes seconds, too long between updates.
      options.onProgress?.(summary.lines);
    };
    const commit = () => {
      if (transaction === undefined) return;
      this.#placeOwnCertificates(transaction.placements, summary);
      if (summary.imported + summary.certificates > transaction.changesBefore) this.#renewContentId.run();
      // The documents reach the disk before the rows pointing at them can.
      this.#documents.sync();
      this.#setDocumentsBytes.run(transaction.documentsEnd, transaction.documentsEnd);
      database.exec('COMMIT');
      transaction = undefined;
    };
    const checkpoints = this.#checkpointInBackground();
    const { filename, execArgv } = workerLocation('import-worker', import.meta.url);
    // One parser per core: the writer waits on SQLite's I/O part of the time (measured 100k entities: 1 parser
    // 20k entities/s, 2 parsers 24k).
    const threads = availableParallelism();
    const pool = new Piscina({
      filename,
      execArgv,
      minThreads: threads,
      maxThreads: threads,
      // Every chunk in flight is queued at its worker: with one task at a time, a worker that finished sat
      // idle until this thread, busy writing to SQLite, handed it the next (measured +10%).
      concurrentTasksPerWorker: Math.ceil(maxChunksInFlight / threads),
    });
    const inFlight: Promise<ParseChunkResult>[] = [];
    // The file's digest, from the chunks' digests in file order: what the next import compares its file with.
    const digest = createHash('sha256');
    let bytesRead = 0;
    // Results are taken in file order, so line numbers and upsert order follow the file.
    const integrateOldest = async () => {
      const result = await (inFlight.shift() as Promise<ParseChunkResult>);
      digest.update(result.digest);
      for (const problem of result.bad) {
        summary.skipped++;
        options.onBadLine?.({ line: summary.lines + problem.line, message: problem.message });
      }
      summary.lines += result.lines;
      store(result);
    };
    try {
      for await (const { bytes } of readWholeLineChunks(path)) {
        bytesRead += bytes.length;
        // Transferred, not copied: the chunk's ArrayBuffer is its own (see readWholeLineChunks).
        inFlight.push(
          pool.run({ bytes } satisfies ParseChunkTask, { transferList: [bytes.buffer as ArrayBuffer] }),
        );
        if (inFlight.length >= maxChunksInFlight) await integrateOldest();
      }
      while (inFlight.length > 0) await integrateOldest();
      commit();
      // Only after every line is committed: an interrupted import is redone in full next time.
      database
        .prepare("INSERT OR REPLACE INTO catalog_meta (key, value) VALUES ('last_import', ?)")
        .run(`${bytesRead}:${digest.digest('hex')}`);
    } finally {
      if (transaction !== undefined && database.inTransaction) database.exec('ROLLBACK');
      // Settle every task before the pool goes, so none rejects unobserved.
      await Promise.allSettled(inFlight);
      await pool.destroy();
      await checkpoints.stop();
    }
    // Everything into the catalog file and the WAL emptied, as closing the catalog would: otherwise the
    // import's last frames, and a WAL file grown to its largest transaction, stay until the catalog closes,
    // and every lookup meanwhile looks for its pages in the WAL first. (Busy readers make this a partial
    // checkpoint, never an error.)
    if (!database.memory) database.pragma('wal_checkpoint(TRUNCATE)');
    summary.seconds = (performance.now() - started) / 1000;
    return summary;
  }

  /**
   * Moves the import's checkpoints to a thread of their own (see checkpoint-worker.ts); `stop` gives them back
   * to the writer. Should that thread fail, the writer checkpoints again itself: the import never depends on it.
   */
  #checkpointInBackground(): { stop: () => Promise<void> } {
    const database = this.#database;
    if (database.memory || database.pragma('journal_mode', { simple: true }) !== 'wal') {
      return { stop: async () => {} };
    }
    const automatic = database.pragma('wal_autocheckpoint', { simple: true }) as number;
    database.pragma('wal_autocheckpoint = 0');
    const { filename, execArgv } = workerLocation('checkpoint-worker', import.meta.url);
    const pool = new Piscina({ filename, execArgv, minThreads: 1, maxThreads: 1 });
    const stop = new SharedArrayBuffer(4);
    const task = pool.run({ path: database.name, stop } satisfies CheckpointTask).catch(() => {
      database.pragma(`wal_autocheckpoint = ${automatic}`);
    });
    return {
      stop: async () => {
        const stopped = new Int32Array(stop);
        Atomics.store(stopped, 0, 1);
        Atomics.notify(stopped, 0);
        await task;
        await pool.destroy();
        database.pragma(`wal_autocheckpoint = ${automatic}`);
      },
    };
  }

  /**
   * Writes a parsed chunk's entities in file order (their entity_id, hence the matching index's order,
   * follows the file) and their shared certificates, appends the documents of those inserted or updated to
   * the documents file, and collects where their own certificates sit.
   */
  #storeEntities(
    { entities, documents }: ParseChunkResult,
    summary: ImportSummary,
    transaction: ImportTransaction,
  ): void {
    // Byte ranges of the chunk's buffer to append, adjacent ones merged: a new file's documents arrive back
    // to back, so a chunk is mostly one range.
    const ranges: [start: number, end: number][] = [];
    let nameStart = 0;
    for (let i = 0, own = 0, shared = 0; i < entities.count; i++) {
      const ceId = idAt(entities.ceIds, ceIdLength, i);
      const nameEnd = entities.nameEnds[i] as number;
      const name = entities.names.slice(nameStart, nameEnd);
      nameStart = nameEnd;
      const updatedAt = entities.updatedAt[i] as number;
      const documentStart = entities.documentStart[i] as number;
      const documentLength = entities.documentLength[i] as number;
      const ownEnd = entities.ownEnds[i] as number;
      const sharedStart = shared;
      const sharedEnd = entities.sharedEnds[i] as number;
      const documentAt = transaction.documentsEnd;
      const sharedIds =
        sharedEnd === sharedStart ? null : sharedIdsOf(entities.sharedCertIds, sharedStart, sharedEnd);
      // Bound by position: binding an object by names made the whole import ~15% slower.
      const values = [
        name,
        documentAt,
        documentLength,
        entities.certificatesAt[i] as number,
        sharedIds,
        updatedAt,
        ceId,
      ] as const;
      const inserted = this.#insertEntity.run(...values);
      const entityId =
        inserted.changes > 0
          ? Number(inserted.lastInsertRowid)
          : (this.#updateEntityIfNewer.get(...values, updatedAt) as number | undefined);
      if (entityId === undefined) {
        summary.unchanged++;
        own = ownEnd;
        shared = sharedEnd;
        continue;
      }
      summary.imported++;
      transaction.documentsEnd += documentLength;
      const last = ranges.at(-1);
      if (last !== undefined && last[1] === documentStart) last[1] = documentStart + documentLength;
      else ranges.push([documentStart, documentStart + documentLength]);
      for (; own < ownEnd; own++) {
        transaction.placements.push({
          certId: idAt(entities.ownCertIds, certIdLength, own),
          entityId,
          start: entities.ownStarts[own] as number,
          length: entities.ownLengths[own] as number,
        });
      }
      for (; shared < sharedEnd; shared++) {
        const certId = idAt(entities.sharedCertIds, certIdLength, shared);
        const certificateUpdatedAt = entities.sharedUpdatedAt[shared] as number;
        const body = slice(
          documents,
          entities.sharedBodyStarts[shared] as number,
          entities.sharedBodyLengths[shared] as number,
        );
        if (
          this.#insertSharedCertificate.run(certId, body, certificateUpdatedAt).changes > 0 ||
          this.#updateSharedCertificateIfNewer.run(body, certificateUpdatedAt, certId, certificateUpdatedAt)
            .changes > 0
        ) {
          summary.certificates++;
        }
      }
    }
    const pieces = ranges.map(([start, end]) => slice(documents, start, end - start));
    this.#documents.append(pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces));
  }

  /**
   * Writes where a transaction's own certificates sit, in cert_id order (see {@link inInsertionOrder}):
   * certificate ids arrive at random, and inserting them in order lands consecutive ones on the same B-tree
   * pages.
   */
  #placeOwnCertificates(placements: Placement[], summary: ImportSummary): void {
    const ordered = inInsertionOrder(placements);
    const values: (string | number)[] = new Array(placementsPerInsert * 4);
    let at = 0;
    // Many rows a statement: one row each spent a third of the time on the statement rather than the B-tree
    // (measured: 1.5M placements in 300k-row transactions, 4.4-4.6 s of CPU one by one, 2.8-3.0 s 64 at once).
    for (; at + placementsPerInsert <= ordered.length; at += placementsPerInsert) {
      for (let k = 0; k < placementsPerInsert; k++) {
        const { certId, entityId, start, length } = ordered[at + k] as Placement;
        values[4 * k] = certId;
        values[4 * k + 1] = entityId;
        values[4 * k + 2] = start;
        values[4 * k + 3] = length;
      }
      if (this.#insertOwnCertificates.run(values).changes === placementsPerInsert) continue;
      // Some were placed already (a re-import, or one certificate twice in the transaction): each row is set
      // again, in order, so the last placement of a certificate wins; a row just inserted is set as it is.
      for (let k = at; k < at + placementsPerInsert; k++) {
        const { certId, entityId, start, length } = ordered[k] as Placement;
        this.#moveOwnCertificate.run(entityId, start, length, certId);
      }
    }
    for (; at < ordered.length; at++) {
      const { certId, entityId, start, length } = ordered[at] as Placement;
      if (this.#insertOwnCertificate.run(certId, entityId, start, length).changes === 0)
        this.#moveOwnCertificate.run(entityId, start, length, certId);
    }
    summary.certificates += placements.length;
  }

  /**
   * An entity with all its certificates as the UTF-8 JSON the API answers with; undefined when unknown. One
   * row and one document read for an entity without shared certificates; nothing is parsed.
   */
  entityDocument(ceId: string): Buffer | undefined {
    const locations = this.#currentLocations();
    if (locations !== undefined) return this.#entityDocumentAt(locations, ceId);
    const row = this.#entityById.get(ceId) as [number, number, string | null] | undefined;
    return row === undefined
      ? undefined
      : this.#withSharedCertificates(this.#documents.read(row[0], row[1]), row[2]);
  }

  /** The entity's document found through the locations held in memory. */
  #entityDocumentAt(locations: Locations, ceId: string): Buffer | undefined {
    const prefix = entityJsonPrefix(ceId);
    return locations.findEntity(ceId, (entityId) => {
      const document = this.#documents.read(
        locations.documentAt(entityId),
        locations.documentLength(entityId),
      );
      // Another ce_id with the same hash. (ce_ids are ASCII, so latin1 reads the prefix exactly.)
      if (document.toString('latin1', 0, prefix.length) !== prefix) return undefined;
      return locations.hasShared(entityId)
        ? this.#withSharedCertificates(document, this.#sharedIdsByRowId.get(entityId) as string | null)
        : document;
    });
  }

  /**
   * Holds where every entity's document and every certificate covering one entity are, in memory (~30 bytes
   * an entity, ~20 a certificate), so that a lookup by ce_id or cert_id reads its document and no B-tree:
   * what a service does when it starts. They load from the locations file beside the catalog when it is of
   * the catalog's current content; otherwise they are read from SQLite (seconds at 1M entities) and the file
   * is written for the next start. This catalog's own imports keep them current; when another connection
   * changes the catalog, lookups notice (SQLite's data version, ~1.5 µs), drop them and go back to SQLite
   * until this is called again.
   */
  cacheLocations(): CachedLocations {
    const started = performance.now();
    let read: { locations: Locations; contentId: string } | undefined;
    // One read transaction: the rows, their count, the content id and the version they belong to agree.
    this.#database.transaction(() => {
      const dataVersion = this.#dataVersion.get() as number;
      const contentId = this.contentId;
      let locations: Locations | undefined;
      try {
        if (this.locationsPath !== undefined)
          locations = Locations.loadFrom(
            new SnapshotReader(this.locationsPath, locationsSnapshot(contentId)),
          );
      } catch (error) {
        if (!(error instanceof SnapshotFileError)) throw error;
      }
      if (locations === undefined) {
        locations = this.#readLocations();
        read = { locations, contentId };
      }
      this.#locations = { index: locations, dataVersion };
    })();
    if (read === undefined) return { seconds: (performance.now() - started) / 1000, origin: 'file' };
    let saveProblem: string | undefined;
    if (this.locationsPath !== undefined)
      try {
        const snapshot = new SnapshotWriter();
        read.locations.saveTo(snapshot);
        snapshot.writeFile(this.locationsPath, locationsSnapshot(read.contentId));
      } catch (error) {
        // Only a cache: lookups work the same without it, and the next start reads SQLite again.
        saveProblem = (error as Error).message;
      }
    return { seconds: (performance.now() - started) / 1000, origin: 'catalog', saveProblem };
  }

  /** Where {@link cacheLocations} saves the locations it read from SQLite: beside it, or nowhere in memory. */
  get locationsPath(): string | undefined {
    return this.#database.memory ? undefined : `${this.path}.locations`;
  }

  /** Every entity's and own certificate's location, from SQLite, inside the caller's read transaction. */
  #readLocations(): Locations {
    const [count, maxEntityId] = this.#database
      .prepare('SELECT COUNT(*), COALESCE(MAX(entity_id), 0) FROM entities')
      .raw()
      .get() as [number, number];
    const entities = this.#database
      .prepare('SELECT entity_id, ce_id, document_at, document_length, shared_ids IS NOT NULL FROM entities')
      .raw()
      .iterate() as Iterable<EntityLocationRow>;
    const certificates = this.#database
      .prepare('SELECT cert_id, entity_id, start, length FROM own_certificates')
      .raw()
      .iterate() as Iterable<CertificatePlacementRow>;
    return Locations.fromRows(entities, count, maxEntityId, certificates);
  }

  /** Lookups find documents through locations held in memory (see {@link cacheLocations}). */
  get holdsLocations(): boolean {
    return this.#currentLocations() !== undefined;
  }

  /**
   * The locations held in memory, unless another connection has changed the catalog since they were read;
   * then they are dropped.
   */
  #currentLocations(): Locations | undefined {
    if (this.#locations === undefined) return undefined;
    if (this.#locations.dataVersion === (this.#dataVersion.get() as number)) return this.#locations.index;
    this.#locations = undefined;
    return undefined;
  }

  /** {@link entityDocument} and the entity's name, for callers that do not have it. */
  entityDocumentAndName(ceId: string): { json: Buffer; name: string } | undefined {
    const row = this.#entityWithNameById.get(ceId) as [number, number, string | null, string] | undefined;
    return row === undefined
      ? undefined
      : { json: this.#withSharedCertificates(this.#documents.read(row[0], row[1]), row[2]), name: row[3] };
  }

  /** The document with the shared certificates it lists appended to its certificates array. */
  #withSharedCertificates(document: Buffer, sharedIds: string | null): Buffer {
    if (sharedIds === null) return document;
    const shared: Buffer[] = [];
    for (const certId of sharedIds.split(' ')) {
      const body = this.#sharedCertificateById.get(certId) as Buffer | undefined;
      if (body !== undefined) shared.push(body);
    }
    if (shared.length === 0) return document;
    // The document ends with the certificates array's `]}`.
    const closing = document.length - 2;
    const hasOwn = document[closing - 1] !== 0x5b; // '['
    const pieces: Buffer[] = [document.subarray(0, closing)];
    shared.forEach((body, i) => {
      if (i > 0 || hasOwn) pieces.push(comma);
      pieces.push(body);
    });
    pieces.push(document.subarray(closing));
    return Buffer.concat(pieces);
  }

  /** An entity with all its certificates, or undefined. */
  entity(ceId: string): CatalogEntity | undefined {
    const json = this.entityJson(ceId);
    return json === undefined ? undefined : (JSON.parse(json) as CatalogEntity);
  }

  /** The same entity as JSON text. */
  entityJson(ceId: string): string | undefined {
    return this.entityDocument(ceId)?.toString('utf8');
  }

  /** One certificate as the UTF-8 JSON the API answers with, or undefined. */
  certificateDocument(certId: string): Buffer | undefined {
    // A placement whose entity was since updated without the certificate points at other bytes.
    // (Certificate ids are ASCII, so latin1 reads the prefix exactly.)
    const prefix = certificateJsonPrefix(certId);
    const ownAt = (at: number, length: number): Buffer | undefined => {
      const own = this.#documents.read(at, length);
      return own.toString('latin1', 0, prefix.length) === prefix ? own : undefined;
    };
    const locations = this.#currentLocations();
    let own: Buffer | undefined;
    if (locations !== undefined) own = locations.findCertificate(certId, ownAt);
    else {
      const placed = this.#ownCertificateById.get(certId) as [at: number, length: number] | undefined;
      if (placed !== undefined) own = ownAt(placed[0], placed[1]);
    }
    return own ?? (this.#sharedCertificateById.get(certId) as Buffer | undefined);
  }

  /** One certificate as JSON text, or undefined. */
  certificateJson(certId: string): string | undefined {
    return this.certificateDocument(certId)?.toString('utf8');
  }

  /** One certificate, or undefined. */
  certificate(certId: string): CertificateRecord | undefined {
    const json = this.certificateJson(certId);
    return json === undefined ? undefined : (JSON.parse(json) as CertificateRecord);
  }

  /**
   * Every entity without its certificates, as JSON text in batches, streamed from disk: what the matching
   * index is built from. Text rather than objects, so that the build's worker threads parse it.
   */
  *entityLinesForIndex(batchSize = 1024): Generator<string[]> {
    // Read through the page cache, not the memory map: a scan of the whole file through the map leaves it
    // counted in the process's resident memory, for no gain in a sequential read. Lookups map it again.
    this.#database.pragma('mmap_size = 0');
    try {
      let batch: string[] = [];
      const windows = new DocumentWindows(this.#documents);
      for (const [at, certificatesAt] of this.#database
        .prepare('SELECT document_at, certificates_at FROM entities ORDER BY entity_id')
        .raw()
        .iterate() as Iterable<[number, number]>) {
        batch.push(`${windows.text(at, certificatesAt)}}`);
        if (batch.length < batchSize) continue;
        yield batch;
        batch = [];
      }
      if (batch.length > 0) yield batch;
    } finally {
      this.#database.pragma(`mmap_size = ${catalogMmapBytes}`);
    }
  }

  /** Every entity without its certificates, parsed. */
  *entitiesForIndex(): Generator<CertifiedEntityRecord> {
    for (const batch of this.entityLinesForIndex())
      for (const line of batch) yield JSON.parse(line) as CertifiedEntityRecord;
  }

  /**
   * The documents file's length, and how much of it current documents take: the rest is documents replaced
   * by newer ones (and appends of rolled-back imports), which stay until the entity file is imported into a
   * new catalog.
   */
  get documentBytes(): { file: number; current: number } {
    const current = this.#database
      .prepare('SELECT COALESCE(SUM(document_length), 0) FROM entities')
      .pluck()
      .get() as number;
    return { file: this.#documents.size, current };
  }

  get entityCount(): number {
    return this.#database.prepare('SELECT COUNT(*) FROM entities').pluck().get() as number;
  }

  /** Certificates stored: each covering one entity in that entity's document, each shared one once. */
  get certificateCount(): number {
    return this.#database
      .prepare('SELECT (SELECT COUNT(*) FROM own_certificates) + (SELECT COUNT(*) FROM shared_certificates)')
      .pluck()
      .get() as number;
  }

  close(): void {
    this.#database.close();
    this.#documents.close();
  }
}

/** What an import transaction has yet to write when it commits, and where its next document goes. */
interface ImportTransaction {
  placements: Placement[];
  /** The documents file's length once this transaction's documents are appended. */
  documentsEnd: number;
}

/** Where a catalog's documents file lives: beside it. */
export const documentsPath = (catalogPath: string) => `${catalogPath}.documents`;

/** Shared certificates `start` to `end` (exclusive) of a chunk's, as an entity row lists them: ids joined by spaces. */
function sharedIdsOf(certIds: string, start: number, end: number): string {
  const ids: string[] = [];
  for (let at = start; at < end; at++) ids.push(idAt(certIds, certIdLength, at));
  return ids.join(' ');
}

/** A view of `length` bytes of a chunk's buffer from `start`, without copying. */
const slice = (bytes: Uint8Array, start: number, length: number) =>
  Buffer.from(bytes.buffer, bytes.byteOffset + start, length);

/**
 * A file's digest: the SHA-256 of its whole-line chunks' SHA-256s, in order. The chunks, as an import reads
 * them ({@link readWholeLineChunks}), depend only on the file's bytes, so an import's workers digest them in
 * any order and this arrives at the same digest.
 */
async function fileDigest(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const { bytes } of readWholeLineChunks(path)) digest.update(chunkDigest(bytes));
  return digest.digest('hex');
}
