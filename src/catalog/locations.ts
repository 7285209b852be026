/**
 * Where every entity's document and every certificate covering one entity are, in memory: Bitcask's "keydir"
 * for the catalog, so that a lookup by ce_id or cert_id is a hash probe and one read of the documents file,
 * with no SQLite B-tree to descend. Measured at 1M entities: ~85k lookups/s by ce_id through SQLite's index,
 * ~90k/s by cert_id through `own_certificates` (a statement ~6 µs, the read ~4 µs).
 *
 * Keys are not stored. A slot holds a 32-bit hash of the id and a number; the caller reads the bytes a
 * matching slot points at and checks that they start with the id (every document and certificate does), so
 * a hash collision costs one extra read, never a wrong answer. Everything is in typed arrays the garbage
 * collector does not walk: ~30 bytes an entity and ~20 bytes a certificate.
 *
 * Reading them from SQLite takes seconds at 1M entities (~1.5 µs a row, 4M rows), so they are also saved as a
 * snapshot file beside the catalog, tagged with its content id, which loads in a fraction of a second.
 *
 * @internal
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fnv1a, fnv1aModule } from '../runtime/fnv1a.js';
import {
  type ExpectedSnapshot,
  SnapshotFileError,
  type SnapshotReader,
  type SnapshotWriter,
} from '../runtime/snapshot-file.js';

/** Open addressing from an id's hash to a positive number, at most three quarters full; grows as it fills. */
class HashedSlots {
  #hashes: Uint32Array;
  /** 0, which no value is, when the slot is empty. */
  #values: Uint32Array;
  #mask: number;
  #count = 0;

  constructor(expected = 0, hashes?: Uint32Array, values?: Uint32Array) {
    let capacity = 1024;
    while (expected * 4 > capacity * 3) capacity *= 2;
    this.#hashes = hashes ?? new Uint32Array(capacity);
    this.#values = values ?? new Uint32Array(capacity);
    this.#mask = this.#values.length - 1;
  }

  add(id: string, value: number): void {
    if ((this.#count + 1) * 4 > (this.#mask + 1) * 3) this.#resize((this.#mask + 1) * 2);
    this.#place(fnv1a(id), value);
    this.#count++;
  }

  /** Calls `found` with each value whose id hashes as `id` does, until it returns something, and returns that. */
  find<T>(id: string, found: (value: number) => T | undefined): T | undefined {
    const hash = fnv1a(id);
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const value = this.#values[slot] as number;
      if (value === 0) return undefined;
      if (this.#hashes[slot] !== hash) continue;
      const answer = found(value);
      if (answer !== undefined) return answer;
    }
  }

  saveTo(snapshot: SnapshotWriter, name: string): void {
    snapshot.bytes(`${name}.hashes`, this.#hashes);
    snapshot.bytes(`${name}.values`, this.#values);
  }

  static loadFrom(snapshot: SnapshotReader, name: string): HashedSlots {
    const hashes = snapshot.array(`${name}.hashes`, Uint32Array);
    const values = snapshot.array(`${name}.values`, Uint32Array);
    const capacity = values.length;
    // A power of two with an empty slot, or a probe would never end.
    if (
      hashes.length !== capacity ||
      capacity === 0 ||
      (capacity & (capacity - 1)) !== 0 ||
      !values.includes(0)
    )
      throw new SnapshotFileError('damaged', `locations section ${name} is not a hash table`);
    return new HashedSlots(0, hashes, values);
  }

  #place(hash: number, value: number): void {
    let slot = hash & this.#mask;
    while (this.#values[slot] !== 0) slot = (slot + 1) & this.#mask;
    this.#hashes[slot] = hash;
    this.#values[slot] = value;
  }

  #resize(capacity: number): void {
    const hashes = this.#hashes;
    const values = this.#values;
    this.#hashes = new Uint32Array(capacity);
    this.#values = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    for (let slot = 0; slot < values.length; slot++)
      if (values[slot] !== 0) this.#place(hashes[slot] as number, values[slot] as number);
  }
}

/** One entity as the locations are built from it. */
export type EntityLocationRow = [entityId: number, ceId: string, at: number, length: number, shared: 0 | 1];

/** Where a certificate covering one entity sits: bytes `start` to `start + length` of that entity's document. */
export type CertificatePlacementRow = [certId: string, entityId: number, start: number, length: number];

interface LocationParts {
  entitySlots: HashedSlots;
  /** By row id. */
  at: Float64Array;
  length: Uint32Array;
  shared: Uint8Array;
  certificateSlots: HashedSlots;
  /** Entity row id, start and length of each placement, by its number from 1 (a slot's 0 means empty). */
  placements: Uint32Array;
}

let fingerprintMemo: string | undefined;

/** What a locations file of the catalog with this content id must be. */
export function locationsSnapshot(contentId: string): ExpectedSnapshot {
  // A hash of this module as it runs and of the id hash its tables hold: a change to either can never meet
  // an old file.
  fingerprintMemo ??= createHash('sha256')
    .update(readFileSync(fileURLToPath(import.meta.url)))
    .update(readFileSync(fnv1aModule))
    .digest('hex');
  return { kind: 'catalog locations file', fingerprint: fingerprintMemo, tag: contentId };
}

export class Locations {
  readonly #parts: LocationParts;

  private constructor(parts: LocationParts) {
    this.#parts = parts;
  }

  /**
   * From every entity's row (`count` and `maxEntityId` size the tables) and every certificate's placement.
   */
  static fromRows(
    entities: Iterable<EntityLocationRow>,
    count: number,
    maxEntityId: number,
    certificates: Iterable<CertificatePlacementRow>,
  ): Locations {
    const entitySlots = new HashedSlots(count);
    const at = new Float64Array(maxEntityId + 1);
    const length = new Uint32Array(maxEntityId + 1);
    const shared = new Uint8Array(maxEntityId + 1);
    for (const [entityId, ceId, documentAt, documentLength, hasShared] of entities) {
      at[entityId] = documentAt;
      length[entityId] = documentLength;
      shared[entityId] = hasShared;
      entitySlots.add(ceId, entityId);
    }
    const certificateSlots = new HashedSlots();
    let placements = new Uint32Array(3 * 1024);
    let placementCount = 0;
    for (const [certId, entityId, start, placedLength] of certificates) {
      const number = ++placementCount;
      if (number * 3 + 3 > placements.length) {
        const grown = new Uint32Array(placements.length * 2);
        grown.set(placements);
        placements = grown;
      }
      placements[number * 3] = entityId;
      placements[number * 3 + 1] = start;
      placements[number * 3 + 2] = placedLength;
      certificateSlots.add(certId, number);
    }
    // A copy of the part in use: a view would keep the doubled buffer alive.
    placements = placements.slice(0, placementCount * 3 + 3);
    return new Locations({ entitySlots, at, length, shared, certificateSlots, placements });
  }

  saveTo(snapshot: SnapshotWriter): void {
    const { entitySlots, at, length, shared, certificateSlots, placements } = this.#parts;
    entitySlots.saveTo(snapshot, 'entities');
    snapshot.bytes('at', at);
    snapshot.bytes('length', length);
    snapshot.bytes('shared', shared);
    certificateSlots.saveTo(snapshot, 'certificates');
    snapshot.bytes('placements', placements);
  }

  static loadFrom(snapshot: SnapshotReader): Locations {
    const parts: LocationParts = {
      entitySlots: HashedSlots.loadFrom(snapshot, 'entities'),
      at: snapshot.array('at', Float64Array),
      length: snapshot.array('length', Uint32Array),
      shared: snapshot.array('shared', Uint8Array),
      certificateSlots: HashedSlots.loadFrom(snapshot, 'certificates'),
      placements: snapshot.array('placements', Uint32Array),
    };
    if (
      parts.length.length !== parts.at.length ||
      parts.shared.length !== parts.at.length ||
      parts.placements.length % 3 !== 0
    )
      throw new SnapshotFileError('damaged', 'catalog locations sections do not agree in length');
    return new Locations(parts);
  }

  /**
   * Calls `found` with each entity whose ce_id hashes as `ceId` does (nearly always none or the one), until
   * it returns something other than undefined, and returns that.
   */
  findEntity<T>(ceId: string, found: (entityId: number) => T | undefined): T | undefined {
    return this.#parts.entitySlots.find(ceId, found);
  }

  /**
   * Calls `found` with where each certificate whose cert_id hashes as `certId` does sits in the documents
   * file, until it returns something, and returns that. A placement that outlived its certificate (its entity
   * was updated without it) and points past the end of its entity's document is passed over.
   */
  findCertificate<T>(certId: string, found: (at: number, length: number) => T | undefined): T | undefined {
    const { placements, at, length } = this.#parts;
    return this.#parts.certificateSlots.find(certId, (number) => {
      const entityId = placements[number * 3] as number;
      const start = placements[number * 3 + 1] as number;
      const placedLength = placements[number * 3 + 2] as number;
      if (start + placedLength > (length[entityId] as number)) return undefined;
      return found((at[entityId] as number) + start, placedLength);
    });
  }

  /** Where the entity's document starts in the documents file. */
  documentAt(entityId: number): number {
    return this.#parts.at[entityId] as number;
  }

  documentLength(entityId: number): number {
    return this.#parts.length[entityId] as number;
  }

  /** The entity holds shared certificates, which its row lists. */
  hasShared(entityId: number): boolean {
    return this.#parts.shared[entityId] === 1;
  }
}
