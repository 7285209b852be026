/**
 * The certificate catalog: certified entities and their certificates in SQLite, so that the service returns
 * them without keeping certificate data in the JavaScript heap. The matching index is built from it.
 *
 * A certificate that covers several entities is stored once and linked to each. Re-importing upserts by
 * `updated_at`: a line older than what is stored changes nothing.
 *
 * @example
 * ```ts
 * const catalog = new Catalog('catalog.db');
 * await catalog.importFile('registry.ndjson', { onBadLine: (p) => console.error(p) });
 * catalog.entity('ce_KMi1zsb9CH2EorSzOJ9YEgtV'); // the entity with its certificates
 * ```
 */
import { createReadStream } from 'node:fs';
import { availableParallelism } from 'node:os';
import Database from 'better-sqlite3';
import { Piscina } from 'piscina';
import type { CertificateRecord, CertifiedEntityRecord } from '../engine/index.js';
import { workerLocation } from '../runtime/worker-location.js';
import type { StoredEntity } from './entity-line.js';
import type { ParseChunkResult, ParseChunkTask } from './import-worker.js';

export { type CatalogMatcher, indexSnapshotPath, openCatalogMatcher } from './catalog-matcher.js';

/** Bytes of the catalog file mapped into memory for reads. */
const catalogMmapBytes = 2 ** 30;
/** SQLite page cache for the catalog, in KiB. */
const catalogCacheKiB = 131_072;

/**
 * Lines per import transaction: big enough to amortize the commit (2,000 -> 10,000 measured +12%), small
 * enough to bound memory (~40 MB of parsed lines).
 */
export const importBatchLines = 10_000;

/** Bytes read and handed to a parsing worker at a time (~250 entities). */
const importChunkBytes = 1 << 20;
/** Chunks being parsed ahead of the writer: keeps the worker busy and bounds memory. */
const maxChunksInFlight = 4;
const newline = 0x0a;

/**
 * The catalog's storage format. An entity is stored as its JSON text without certificates, so that a lookup
 * concatenates stored text instead of parsing and re-serializing it. Format 3 adds the content id (format 2
 * files are migrated in place: the id is a new table); a file of any other format is refused.
 */
const catalogFormat = 3;
const migratableFormat = 2;

/**
 * Larger pages than SQLite's 4 KiB: a record with its addresses is ~0.6 KiB and a certificate ~1 KiB, so
 * 16 KiB pages halve the B-tree depth and the page splits of random-key inserts (measured on 30k entities with
 * 3 certificates each: 19k -> 27k rows of entities/s).
 */
const catalogPageBytes = 16_384;

const schema = `
CREATE TABLE IF NOT EXISTS entities (
  ce_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS certificates (
  cert_id TEXT PRIMARY KEY,
  body TEXT NOT NULL,
  updated_at INTEGER NOT NULL
);
-- Links only from entity to certificate: a certificate's own body lists the entities it covers, so no index
-- by certificate is kept (it cost 15% of the import).
CREATE TABLE IF NOT EXISTS entity_certificates (
  ce_id TEXT NOT NULL REFERENCES entities (ce_id),
  cert_id TEXT NOT NULL REFERENCES certificates (cert_id),
  PRIMARY KEY (ce_id, cert_id)
) WITHOUT ROWID;
-- content_id changes in the same transaction as any change to the entities: a matching-index snapshot
-- tagged with it is current exactly when the ids are equal.
CREATE TABLE IF NOT EXISTS catalog_meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT OR IGNORE INTO catalog_meta (key, value) VALUES ('content_id', lower(hex(randomblob(16))));
`;

/** The catalog file was written by an incompatible version of certmatch. */
export class CatalogFormatError extends Error {
  readonly code = 'catalog_format';
  constructor(path: string, found: number) {
    super(
      `${path} is a catalog of format ${found}; this certmatch reads format ${catalogFormat}. Import the entity file into a new catalog.`,
    );
    this.name = 'CatalogFormatError';
  }
}

export interface BadLine {
  line: number;
  message: string;
}

export interface ImportSummary {
  lines: number;
  imported: number;
  unchanged: number;
  skipped: number;
  certificates: number;
  seconds: number;
}

/** A certified entity as the API returns it: the stored record with all its certificates. */
export type CatalogEntity = CertifiedEntityRecord & { certificates: CertificateRecord[] };

export class Catalog {
  /** The file, as given; `:memory:` for a catalog that lives only in this process. */
  readonly path: string;
  readonly #database: Database.Database;
  readonly #upsertEntity: Database.Statement;
  readonly #upsertCertificate: Database.Statement;
  readonly #link: Database.Statement;
  readonly #entityWithCertificates: Database.Statement;
  readonly #certificateById: Database.Statement;
  readonly #renewContentId: Database.Statement;

  constructor(path: string) {
    this.path = path;
    this.#database = new Database(path);
    const found = this.#database.pragma('user_version', { simple: true }) as number;
    const empty =
      this.#database.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table'").pluck().get() === 0;
    if (!empty && found !== catalogFormat && found !== migratableFormat) {
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
    this.#upsertEntity = this.#database.prepare(`
      INSERT INTO entities (ce_id, body, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (ce_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
      WHERE excluded.updated_at > entities.updated_at`);
    this.#upsertCertificate = this.#database.prepare(`
      INSERT INTO certificates (cert_id, body, updated_at) VALUES (?, ?, ?)
      ON CONFLICT (cert_id) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at
      WHERE excluded.updated_at > certificates.updated_at`);
    this.#link = this.#database.prepare(
      'INSERT OR IGNORE INTO entity_certificates (ce_id, cert_id) VALUES (?, ?)',
    );
    // One statement per lookup: the entity's row, then one row per certificate (NULL when it has none).
    this.#entityWithCertificates = this.#database
      .prepare(
        `SELECT e.body, c.body FROM entities e
         LEFT JOIN entity_certificates l ON l.ce_id = e.ce_id
         LEFT JOIN certificates c ON c.cert_id = l.cert_id
         WHERE e.ce_id = ? ORDER BY l.cert_id`,
      )
      .raw();
    this.#certificateById = this.#database.prepare('SELECT body FROM certificates WHERE cert_id = ?').pluck();
    this.#renewContentId = this.#database.prepare(
      "UPDATE catalog_meta SET value = lower(hex(randomblob(16))) WHERE key = 'content_id'",
    );
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
   * Streams an NDJSON entity file into the catalog in batched transactions. A bad line is reported through
   * `onBadLine` with its number and skipped; the rest is imported.
   */
  async importFile(
    path: string,
    options: { onBadLine?: (problem: BadLine) => void; onProgress?: (lines: number) => void } = {},
  ): Promise<ImportSummary> {
    const started = performance.now();
    // Mapping the file helps random reads but slowed writes here (measured: 4.6k -> 2.6k entities/s).
    this.#database.pragma('mmap_size = 0');
    try {
      return await this.#importLines(path, options, started);
    } finally {
      this.#database.pragma(`mmap_size = ${catalogMmapBytes}`);
    }
  }

  async #importLines(
    path: string,
    options: { onBadLine?: (problem: BadLine) => void; onProgress?: (lines: number) => void },
    started: number,
  ): Promise<ImportSummary> {
    const summary: ImportSummary = {
      lines: 0,
      imported: 0,
      unchanged: 0,
      skipped: 0,
      certificates: 0,
      seconds: 0,
    };
    const writeBatch = this.#database.transaction((entities: StoredEntity[]) => {
      const changesBefore = summary.imported + summary.certificates;
      for (const entity of entities) this.#store(entity, summary);
      if (summary.imported + summary.certificates > changesBefore) this.#renewContentId.run();
    });
    const { filename, execArgv } = workerLocation('import-worker', import.meta.url);
    // One parser per core: the writer waits on SQLite's I/O part of the time (measured 30k entities: 1 parser
    // 7.0k entities/s, 2 parsers 8.5k).
    const threads = availableParallelism();
    const pool = new Piscina({ filename, execArgv, minThreads: threads, maxThreads: threads });
    const inFlight: Promise<ParseChunkResult>[] = [];
    let pending: StoredEntity[] = [];
    // Results are taken in file order, so line numbers and upsert order follow the file.
    const integrateOldest = async () => {
      const result = await (inFlight.shift() as Promise<ParseChunkResult>);
      for (const problem of result.bad) {
        summary.skipped++;
        options.onBadLine?.({ line: summary.lines + problem.line, message: problem.message });
      }
      summary.lines += result.lines;
      pending = pending.length === 0 ? result.entities : pending.concat(result.entities);
      if (pending.length >= importBatchLines) {
        writeBatch(pending);
        pending = [];
        options.onProgress?.(summary.lines);
      }
    };
    const parse = (lines: Uint8Array) => {
      const bytes = new Uint8Array(lines); // a copy the worker owns: Buffers may share a pooled ArrayBuffer
      inFlight.push(pool.run({ bytes } satisfies ParseChunkTask, { transferList: [bytes.buffer] }));
    };
    try {
      let carry = new Uint8Array(0);
      for await (const chunk of createReadStream(path, { highWaterMark: importChunkBytes })) {
        const bytes = carry.length === 0 ? (chunk as Buffer) : Buffer.concat([carry, chunk as Buffer]);
        const end = bytes.lastIndexOf(newline) + 1;
        // Whole lines go to a worker; the tail waits for the rest of its line.
        if (end > 0) parse(bytes.subarray(0, end));
        carry = new Uint8Array(bytes.subarray(end));
        if (inFlight.length >= maxChunksInFlight) await integrateOldest();
      }
      if (carry.length > 0) parse(carry);
      while (inFlight.length > 0) await integrateOldest();
      writeBatch(pending);
      options.onProgress?.(summary.lines);
    } finally {
      // Settle every task before the pool goes, so none rejects unobserved.
      await Promise.allSettled(inFlight);
      await pool.destroy();
    }
    summary.seconds = (performance.now() - started) / 1000;
    return summary;
  }

  #store(entity: StoredEntity, summary: ImportSummary): void {
    const written = this.#upsertEntity.run(entity.ceId, entity.body, entity.updatedAt);
    // The upsert's WHERE clause refuses a line no newer than the stored entity: then nothing changes.
    if (written.changes === 0) {
      summary.unchanged++;
      return;
    }
    for (const certificate of entity.certificates) {
      if (
        this.#upsertCertificate.run(certificate.certId, certificate.body, certificate.updatedAt).changes > 0
      ) {
        summary.certificates++;
      }
      this.#link.run(entity.ceId, certificate.certId);
    }
    summary.imported++;
  }

  /** An entity with all its certificates, or undefined. */
  entity(ceId: string): CatalogEntity | undefined {
    const json = this.entityJson(ceId);
    return json === undefined ? undefined : (JSON.parse(json) as CatalogEntity);
  }

  /**
   * The same entity as JSON text, assembled from the stored bodies without parsing them: what a service sends
   * on the wire.
   */
  entityJson(ceId: string): string | undefined {
    const rows = this.#entityWithCertificates.all(ceId) as [string, string | null][];
    const first = rows[0];
    if (first === undefined) return undefined;
    const certificates = first[1] === null ? '' : rows.map((row) => row[1]).join(',');
    return `${first[0].slice(0, -1)},"certificates":[${certificates}]}`;
  }

  /** One certificate as stored JSON text, or undefined. */
  certificateJson(certId: string): string | undefined {
    return this.#certificateById.get(certId) as string | undefined;
  }

  /** One certificate, or undefined. */
  certificate(certId: string): CertificateRecord | undefined {
    const body = this.#certificateById.get(certId) as string | undefined;
    return body === undefined ? undefined : (JSON.parse(body) as CertificateRecord);
  }

  /** Every entity without its certificates, streamed from disk: what the matching index is built from. */
  *entitiesForIndex(): Generator<CertifiedEntityRecord> {
    for (const body of this.#database
      .prepare('SELECT body FROM entities ORDER BY rowid')
      .pluck()
      .iterate() as Iterable<string>) {
      yield JSON.parse(body) as CertifiedEntityRecord;
    }
  }

  get entityCount(): number {
    return this.#database.prepare('SELECT COUNT(*) FROM entities').pluck().get() as number;
  }

  get certificateCount(): number {
    return this.#database.prepare('SELECT COUNT(*) FROM certificates').pluck().get() as number;
  }

  close(): void {
    this.#database.close();
  }
}
