/**
 * Every name the index knows, packed once into SharedArrayBuffers so that scoring workers read candidates by
 * id instead of receiving strings in each task. A name record holds its normalized tokens (ASCII, joined by
 * spaces), its legal form and its entity; an entity holds its country.
 *
 * Layout (all views over shared memory):
 * - `characters`: Uint8Array of every record's tokens, back to back;
 * - `offsets`: Uint32Array, record r spans characters[offsets[r] .. offsets[r+1]);
 * - `legalForms`: Uint16Array per record; `recordEntities`: Int32Array per record;
 * - `entityCountries`: Uint16Array per entity.
 *
 * @internal
 */
import assert from 'node:assert/strict';
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import { PackedStrings, type PackedStringsData } from './packed-strings.js';
import type { ScoringName } from './score.js';
import { sharedInt32Array, sharedUint16Array } from './shared-arrays.js';

/** What crosses the thread boundary once, at pool start. */
export interface NameStoreBuffers {
  characters: SharedArrayBuffer;
  offsets: SharedArrayBuffer;
  legalForms: SharedArrayBuffer;
  recordEntities: SharedArrayBuffer;
  entityCountries: SharedArrayBuffer;
  recordCount: number;
  entityCount: number;
}

/** Read side: used on the main thread and in every worker. */
export class NameStore {
  readonly recordCount: number;
  readonly entityCount: number;
  readonly #characters: Buffer;
  readonly #offsets: Uint32Array;
  readonly #legalForms: Uint16Array;
  readonly #recordEntities: Int32Array;
  readonly #entityCountries: Uint16Array;

  constructor(readonly buffers: NameStoreBuffers) {
    this.recordCount = buffers.recordCount;
    this.entityCount = buffers.entityCount;
    this.#characters = Buffer.from(buffers.characters);
    this.#offsets = new Uint32Array(buffers.offsets);
    this.#legalForms = new Uint16Array(buffers.legalForms);
    this.#recordEntities = new Int32Array(buffers.recordEntities);
    this.#entityCountries = new Uint16Array(buffers.entityCountries);
  }

  tokensOf(record: number): string[] {
    assert.ok(record >= 0 && record < this.recordCount, `name record ${record} out of range`);
    const start = this.#offsets[record] as number;
    const end = this.#offsets[record + 1] as number;
    return this.#characters.toString('latin1', start, end).split(' ');
  }

  entityOf(record: number): number {
    return this.#recordEntities[record] as number;
  }

  countryOf(entity: number): number {
    return this.#entityCountries[entity] as number;
  }

  saveTo(snapshot: SnapshotWriter, name: string): void {
    const { recordCount, entityCount, ...buffers } = this.buffers;
    snapshot.meta[name] = { recordCount, entityCount };
    for (const [part, buffer] of Object.entries(buffers))
      snapshot.bytes(`${name}.${part}`, new Uint8Array(buffer));
  }

  static loadFrom(snapshot: SnapshotReader, name: string): NameStore {
    const { recordCount, entityCount } = snapshot.meta[name] as { recordCount: number; entityCount: number };
    const part = (part: string) => snapshot.shared(`${name}.${part}`);
    return new NameStore({
      characters: part('characters'),
      offsets: part('offsets'),
      legalForms: part('legalForms'),
      recordEntities: part('recordEntities'),
      entityCountries: part('entityCountries'),
      recordCount,
      entityCount,
    });
  }

  scoringName(record: number): ScoringName {
    return {
      tokens: this.tokensOf(record),
      legalForm: this.#legalForms[record] as number,
      country: this.countryOf(this.entityOf(record)),
    };
  }
}

/**
 * Write side: grows typed arrays while the index is built (ordinary arrays of a million numbers were a tenth
 * of the linking thread's page faults, regrown and collected), then copies them at their length into the
 * shared memory a {@link NameStore} reads.
 */
export class NameStoreBuilder {
  /** Record r's text: the store's characters and offsets. */
  readonly #texts = new PackedStrings();
  #legalForms = sharedUint16Array(1 << 12);
  #recordEntities = sharedInt32Array(1 << 12);
  #recordCount = 0;
  #entityCountries = sharedUint16Array(1 << 12);
  #entityCount = 0;

  /** The id the next entity added will have. */
  get nextEntity(): number {
    return this.#entityCount;
  }

  /** Adds entities of countries `countries[first]` to `countries[end - 1]`; returns the first one's id. */
  addEntities(countries: Uint16Array, first: number, end: number): number {
    const added = this.#entityCount;
    if (added + end - first > this.#entityCountries.length)
      this.#growEntities(Math.max(added * 2, added + end - first));
    this.#entityCountries.set(countries.subarray(first, end), added);
    this.#entityCount += end - first;
    return added;
  }

  /**
   * Adds name records: texts `first` to `end` (exclusive) of a packed table (tokens joined by single spaces, a
   * byte each), with the legal forms at the same indexes and `entities[i - first]` the entity of text i.
   * Returns the first record's id.
   */
  addRecordsFrom(
    texts: PackedStringsData,
    legalForms: Uint16Array,
    first: number,
    end: number,
    entities: ArrayLike<number>,
  ): number {
    const added = this.#recordCount;
    if (added + end - first > this.#legalForms.length)
      this.#growRecords(Math.max(added * 2, added + end - first));
    this.#texts.pushRangeFrom(texts, first, end);
    this.#legalForms.set(legalForms.subarray(first, end), added);
    for (let i = first; i < end; i++) this.#recordEntities[added + i - first] = entities[i - first] as number;
    this.#recordCount += end - first;
    return added;
  }

  get recordCount(): number {
    return this.#recordCount;
  }

  /** Makes room for records, entities and characters to grow `factor` times, as `PackedStrings.reserveScaled`. */
  reserveScaled(factor: number): void {
    this.#texts.reserveScaled(factor);
    const records = Math.ceil(this.#recordCount * factor);
    if (records > this.#legalForms.length) this.#growRecords(records);
    const entities = Math.ceil(this.#entityCount * factor);
    if (entities > this.#entityCountries.length) this.#growEntities(entities);
  }

  #growRecords(capacity: number): void {
    this.#legalForms = grownTo(this.#legalForms, this.#recordCount, sharedUint16Array(capacity));
    this.#recordEntities = grownTo(this.#recordEntities, this.#recordCount, sharedInt32Array(capacity));
  }

  #growEntities(capacity: number): void {
    this.#entityCountries = grownTo(this.#entityCountries, this.#entityCount, sharedUint16Array(capacity));
  }

  build(): NameStore {
    /** A buffer of exactly the used part of a table: a snapshot saves the whole buffer. */
    const exact = (array: Uint8Array | Uint16Array | Uint32Array | Int32Array, length: number) => {
      const buffer = new SharedArrayBuffer(Math.max(1, length) * array.BYTES_PER_ELEMENT);
      new Uint8Array(buffer).set(
        new Uint8Array(array.buffer, array.byteOffset, length * array.BYTES_PER_ELEMENT),
      );
      return buffer;
    };
    const texts = this.#texts.data;
    return new NameStore({
      characters: exact(texts.bytes, texts.bytes.length),
      offsets: exact(texts.offsets, texts.offsets.length),
      legalForms: exact(this.#legalForms, this.#recordCount),
      recordEntities: exact(this.#recordEntities, this.#recordCount),
      entityCountries: exact(this.#entityCountries, this.#entityCount),
      recordCount: this.#recordCount,
      entityCount: this.#entityCount,
    });
  }
}

/** `grown` holding the first `length` elements of `array`. */
function grownTo<T extends Uint16Array | Int32Array>(array: T, length: number, grown: T): T {
  grown.set(array.subarray(0, length));
  return grown;
}
