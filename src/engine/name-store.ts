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
import type { PackedStringsData } from './packed-strings.js';
import type { ScoringName } from './score.js';
import { sharedBytes } from './shared-arrays.js';

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

/** Write side: grows ordinary arrays while the index is built, then copies them into shared memory once. */
export class NameStoreBuilder {
  #characters = sharedBytes(1 << 20);
  #characterLength = 0;
  readonly #offsets: number[] = [0];
  readonly #legalForms: number[] = [];
  readonly #recordEntities: number[] = [];
  readonly #entityCountries: number[] = [];

  /** The id the next entity added will have. */
  get nextEntity(): number {
    return this.#entityCountries.length;
  }

  addEntity(country: number): number {
    this.#entityCountries.push(country);
    return this.#entityCountries.length - 1;
  }

  /** Adds a name record: text `index` of a packed table (tokens joined by single spaces, a byte each). */
  addRecordFrom(texts: PackedStringsData, index: number, entity: number, legalForm: number): number {
    const start = texts.offsets[index] as number;
    const end = texts.offsets[index + 1] as number;
    while (this.#characterLength + end - start > this.#characters.length)
      this.#growCharacters(this.#characters.length * 2);
    const characters = this.#characters;
    const from = texts.bytes;
    for (let i = start, at = this.#characterLength; i < end; i++, at++) characters[at] = from[i] as number;
    this.#characterLength += end - start;
    this.#offsets.push(this.#characterLength);
    this.#legalForms.push(legalForm);
    this.#recordEntities.push(entity);
    return this.#recordEntities.length - 1;
  }

  get recordCount(): number {
    return this.#recordEntities.length;
  }

  /** Makes room for the names' characters to grow `factor` times, as `PackedStrings.reserveScaled`. */
  reserveScaled(factor: number): void {
    const capacity = Math.ceil(this.#characterLength * factor);
    if (capacity > this.#characters.length) this.#growCharacters(capacity);
  }

  #growCharacters(capacity: number): void {
    const grown = sharedBytes(capacity);
    this.#characters.copy(grown, 0, 0, this.#characterLength);
    this.#characters = grown;
  }

  build(): NameStore {
    const characters = new SharedArrayBuffer(Math.max(1, this.#characterLength));
    this.#characters.copy(new Uint8Array(characters), 0, 0, this.#characterLength);
    const shared = <T extends Uint32Array | Uint16Array | Int32Array>(
      Type: { new (buffer: SharedArrayBuffer): T; BYTES_PER_ELEMENT: number },
      values: number[],
    ): SharedArrayBuffer => {
      const buffer = new SharedArrayBuffer(Math.max(1, values.length) * Type.BYTES_PER_ELEMENT);
      new Type(buffer).set(values);
      return buffer;
    };
    return new NameStore({
      characters,
      offsets: shared(Uint32Array, this.#offsets),
      legalForms: shared(Uint16Array, this.#legalForms),
      recordEntities: shared(Int32Array, this.#recordEntities),
      entityCountries: shared(Uint16Array, this.#entityCountries),
      recordCount: this.#recordEntities.length,
      entityCount: this.#entityCountries.length,
    });
  }
}
