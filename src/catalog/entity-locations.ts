/**
 * Where every entity's document is, in memory: Bitcask's "keydir" for the catalog, so that a lookup by ce_id
 * is a hash probe and one read of the documents file, with no SQLite B-tree to descend (measured at 1M
 * entities: ~85k lookups/s through SQLite's ce_id index, which alone allows ~175k/s).
 *
 * Keys are not stored. A slot holds a 32-bit hash of the ce_id and the entity's row id; the caller reads the
 * document a matching slot points at and checks that it starts with the ce_id (every document does), so a
 * hash collision costs one extra read, never a wrong answer. ~30 bytes per entity, in typed arrays the
 * garbage collector does not walk: ~30 MB at 1M entities.
 *
 * @internal
 */

/** 32-bit FNV-1a of a ce_id's characters (ASCII, by its pattern). */
function hashId(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 0x01000193);
  return hash >>> 0;
}

/** One entity as the locations are built from it. */
export type EntityLocationRow = [entityId: number, ceId: string, at: number, length: number, shared: 0 | 1];

export class EntityLocations {
  /** Open addressing, at most half full: each slot's hash and row id (0, which no row has, when empty). */
  readonly #slotHashes: Uint32Array;
  readonly #slotEntities: Uint32Array;
  readonly #mask: number;
  /** By row id. */
  readonly #at: Float64Array;
  readonly #length: Uint32Array;
  readonly #shared: Uint8Array;

  /** From every entity's row; `count` and `maxEntityId` size the tables. */
  constructor(rows: Iterable<EntityLocationRow>, count: number, maxEntityId: number) {
    let capacity = 1024;
    while (capacity < count * 2) capacity *= 2;
    this.#slotHashes = new Uint32Array(capacity);
    this.#slotEntities = new Uint32Array(capacity);
    this.#mask = capacity - 1;
    this.#at = new Float64Array(maxEntityId + 1);
    this.#length = new Uint32Array(maxEntityId + 1);
    this.#shared = new Uint8Array(maxEntityId + 1);
    for (const [entityId, ceId, at, length, shared] of rows) {
      this.#at[entityId] = at;
      this.#length[entityId] = length;
      this.#shared[entityId] = shared;
      const hash = hashId(ceId);
      let slot = hash & this.#mask;
      while (this.#slotEntities[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#slotHashes[slot] = hash;
      this.#slotEntities[slot] = entityId;
    }
  }

  /**
   * Calls `found` with each entity whose ce_id hashes as `ceId` does (nearly always none or the one), until
   * it returns something other than undefined, and returns that.
   */
  find<T>(ceId: string, found: (entityId: number) => T | undefined): T | undefined {
    const hash = hashId(ceId);
    for (let slot = hash & this.#mask; ; slot = (slot + 1) & this.#mask) {
      const entityId = this.#slotEntities[slot] as number;
      if (entityId === 0) return undefined;
      if (this.#slotHashes[slot] !== hash) continue;
      const answer = found(entityId);
      if (answer !== undefined) return answer;
    }
  }

  /** Where the entity's document starts in the documents file. */
  documentAt(entityId: number): number {
    return this.#at[entityId] as number;
  }

  documentLength(entityId: number): number {
    return this.#length[entityId] as number;
  }

  /** The entity holds shared certificates, which its row lists. */
  hasShared(entityId: number): boolean {
    return this.#shared[entityId] === 1;
  }
}
