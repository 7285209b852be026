/**
 * An exact multimap from strings to non-negative integers, in typed arrays.
 *
 * Why not a `Map<string, number>`: the engine keeps millions of exact keys (a whole-name key per name
 * record, a key per identifier, a ce_id per entity). As JS strings in Maps they cost ~100 bytes each and
 * make every major GC walk them; here they cost ~20 bytes and are invisible to the GC. Measured at 300k
 * entities, moving the three exact tiers here cut the index build by a third.
 *
 * Keys are hashed with 32-bit FNV-1a; a lookup compares hashes first and decodes a stored key only on a
 * hash match, so collisions cost a string comparison, never a wrong answer.
 *
 * @internal
 */
import assert from 'node:assert/strict';
import { fnv1a, fnv1aOffset, fnv1aPrime } from '../runtime/fnv1a.js';
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import { PackedStrings, type PackedStringsData } from './packed-strings.js';
import { sharedInt32Array, sharedUint32Array } from './shared-arrays.js';

const noEntry = -1;
const { charCodeAt } = String.prototype;
const loadFactorMax = 0.75;

/** The fewest buckets (a power of two, 2,048 at least) that hold `entries` within the load factor. */
function bucketCountFor(entries: number): number {
  let bucketCount = 2048;
  while (entries > bucketCount * loadFactorMax) bucketCount *= 2;
  return bucketCount;
}

/** The hash a key is stored under; build workers compute it so the indexing thread does not. */
export const hashKey = fnv1a;

/**
 * Writes keys into packed UTF-8 bytes together with their hashes: the same bytes as `Buffer.from(key)` and
 * the same hash as {@link hashKey}, in one pass over the key. Build workers make several keys per name this
 * way, a part at a time, so that a key is never made as a string first.
 */
export class PackedKeyWriter {
  #bytes = Buffer.allocUnsafe(1 << 14);
  #length = 0;
  readonly #offsets: number[] = [0];
  readonly #hashes: number[] = [];
  /** The current key's hash so far, as signed 32 bits (see {@link end}). */
  #hash = fnv1aOffset | 0;
  readonly #hashed: boolean;

  /**
   * @param hashed - false for a table that is only stored, never looked up (display names, name texts):
   *   its keys are copied without hashing, and {@link toData} gives no hashes.
   */
  constructor({ hashed = true }: { hashed?: boolean } = {}) {
    this.#hashed = hashed;
  }

  /** Room for `units` more UTF-16 units: three bytes each covers any UTF-8 encoding of them. */
  #reserve(units: number): Buffer {
    if (this.#length + units * 3 > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#length + units * 3));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    return this.#bytes;
  }

  /** Appends part of the current key. */
  text(part: string): this {
    // `part` comes in every string representation V8 has (parsed, sliced, joined, internalized, two-byte), so
    // `part.length` and `part.charCodeAt` would be megamorphic property loads, once per character (profiled:
    // a tenth of a build worker's time). Read once, and called through the prototype, they are not.
    const length = part.length;
    const bytes = this.#reserve(length);
    const hashed = this.#hashed;
    let at = this.#length;
    let hash = this.#hash;
    // ASCII is copied unit by unit: keys are short, and a native write per key cost more than the copy
    // (profiled: a sixth of a build worker's time).
    let i = 0;
    for (; i < length; i++) {
      const unit = charCodeAt.call(part, i);
      if (unit > 0x7f) break;
      bytes[at++] = unit;
      if (hashed) hash = Math.imul(hash ^ unit, fnv1aPrime);
    }
    if (i < length) {
      // The rest has other characters: the encoder writes them, and the hash goes on over UTF-16 units.
      at += bytes.write(i === 0 ? part : part.slice(i), at, 'utf8');
      if (hashed) for (; i < length; i++) hash = Math.imul(hash ^ charCodeAt.call(part, i), fnv1aPrime);
    }
    this.#length = at;
    this.#hash = hash;
    return this;
  }

  /**
   * Appends ASCII text given as bytes, `source[start, end)`, as `text` of it would (the hash is over UTF-16
   * units, which for ASCII are the bytes): a ce_id or an identifier read from an entity file is copied
   * without being decoded.
   */
  bytes(source: Uint8Array, start: number, end: number): this {
    const bytes = this.#reserve(end - start);
    let at = this.#length;
    let hash = this.#hash;
    if (this.#hashed)
      for (let i = start; i < end; i++) {
        const unit = source[i] as number;
        bytes[at++] = unit;
        hash = Math.imul(hash ^ unit, fnv1aPrime);
      }
    else for (let i = start; i < end; i++) bytes[at++] = source[i] as number;
    this.#length = at;
    this.#hash = hash;
    return this;
  }

  /**
   * Appends words of lower-case ASCII (normalized tokens), each followed by `separator` (a character code)
   * but the last; -1 for none. The same as `text(words.join(separator))`, without making the joined string.
   */
  words(words: readonly string[], separator: number): this {
    let units = words.length;
    for (const word of words) units += word.length;
    const bytes = this.#reserve(units);
    const hashed = this.#hashed;
    let at = this.#length;
    let hash = this.#hash;
    for (let w = 0; w < words.length; w++) {
      const word = words[w] as string;
      if (w > 0 && separator >= 0) {
        bytes[at++] = separator;
        hash = Math.imul(hash ^ separator, fnv1aPrime);
      }
      for (let i = 0; i < word.length; i++) {
        const unit = word.charCodeAt(i);
        if (unit > 0x7f) throw new RangeError(`words are ASCII: ${JSON.stringify(word)}`);
        bytes[at++] = unit;
        // Not hashing a table that is only stored saves a tenth of writing its keys; the branch goes the
        // same way for every character of a writer.
        if (hashed) hash = Math.imul(hash ^ unit, fnv1aPrime);
      }
    }
    this.#length = at;
    this.#hash = hash;
    return this;
  }

  /** Ends the current key; returns its index. */
  end(): number {
    this.#offsets.push(this.#length);
    if (this.#hashed) {
      // As the signed 32 bits Math.imul leaves, which the array holds unboxed; toData reads them unsigned.
      this.#hashes.push(this.#hash);
      this.#hash = fnv1aOffset | 0;
    }
    return this.#offsets.length - 2;
  }

  /** Adds a whole key. */
  key(key: string): number {
    return this.text(key).end();
  }

  get size(): number {
    return this.#offsets.length - 1;
  }

  /**
   * The keys written, and their hashes (none when not `hashed`). The bytes are copied out at their length: a view would carry the
   * writer's whole spare capacity through every structured clone.
   */
  toData(): { keys: PackedStringsData; hashes: Uint32Array } {
    return {
      keys: {
        bytes: new Uint8Array(this.#bytes.subarray(0, this.#length)),
        offsets: Uint32Array.from(this.#offsets),
      },
      hashes: Uint32Array.from(this.#hashes),
    };
  }
}

export class StringHashIndex {
  #keys: PackedStrings;
  #hashes = sharedUint32Array(1024);
  #values = sharedInt32Array(1024);
  #next = sharedInt32Array(1024);
  #buckets = sharedInt32Array(2048).fill(noEntry);
  #count = 0;
  /** Entries linked into their buckets' chains: all but appended ones waiting to be (see appendRangeFrom). */
  #linkedCount = 0;
  /**
   * Whether {@link reserveScaled} sized the buckets for the table's expected final size: appended entries
   * are then linked as they come, while they fit.
   */
  #bucketsReserved = false;

  /**
   * @param keys - an empty table the keys are stored in, for an owner that keeps the same strings in the
   *   same order anyway (the builder's ce_ids: entry i is entity i), so they are stored once. Only this
   *   index may add to it.
   */
  constructor({ keys = new PackedStrings() }: { keys?: PackedStrings } = {}) {
    assert.equal(keys.size, 0, 'a key table shared with an index starts empty');
    this.#keys = keys;
  }

  /** Adds a (key, value) pair; the same pair twice is stored once. */
  add(key: string, value: number): void {
    assert.ok(Number.isInteger(value) && value >= 0, 'values are non-negative integers');
    this.#linkAppended();
    const hash = hashKey(key);
    for (
      let entry = this.#buckets[hash & (this.#buckets.length - 1)] as number;
      entry !== noEntry;
      entry = this.#next[entry] as number
    ) {
      if (this.#hashes[entry] === hash && this.#values[entry] === value && this.#keys.get(entry) === key)
        return;
    }
    this.#link(this.#keys.push(key), hash, value);
  }

  /**
   * Adds a pair whose key is string `index` of a packed table and `hash` its {@link hashKey} (the key's bytes
   * are copied, never decoded), unless the key is already here under any value; returns whether it was
   * added. One walk of the chain where asking first and then adding took two (the index build asks this of
   * every ce_id).
   */
  addPackedIfAbsent(source: PackedStringsData, index: number, hash: number, value: number): boolean {
    assert.ok(Number.isInteger(value) && value >= 0, 'values are non-negative integers');
    this.#linkAppended();
    for (
      let entry = this.#buckets[hash & (this.#buckets.length - 1)] as number;
      entry !== noEntry;
      entry = this.#next[entry] as number
    ) {
      if (this.#hashes[entry] === hash && this.#keys.equalsFrom(entry, source, index)) return false;
    }
    this.#link(this.#keys.pushFrom(source, index), hash, value);
    return true;
  }

  /**
   * Appends the pair (`word` without its character `at`, `value`), which the caller knows is new, as
   * {@link appendRangeFrom} of that key would, without making it (see {@link PackedStrings.pushWithout}).
   */
  appendWithout(word: string, at: number, value: number): void {
    if (this.#count === this.#values.length) this.#growEntries();
    const entry = this.#keys.pushWithout(word, at);
    let hash = fnv1aOffset;
    for (let i = 0; i < word.length; i++)
      if (i !== at) hash = Math.imul(hash ^ word.charCodeAt(i), fnv1aPrime);
    this.#count++;
    this.#hashes[entry] = hash >>> 0;
    this.#values[entry] = value;
    this.#linkAsTheyCome();
  }

  /**
   * Appends pairs the caller knows are new (each value is unique to its pair): keys `first` to `end`
   * (exclusive) of a packed table, their hashes (as {@link hashKey}) at the same indexes of `hashes`, and
   * `values[i - first]` for key i; with `skipEmpty`, an empty key is left out. The keys' bytes are copied in
   * one go, nothing is looked up and no chain is walked: at millions of keys, that is a third of the cost of
   * `add` (one cache miss per entry instead of several). The entries are linked into their buckets in one
   * pass when the index is next read (or {@link link}ed), or as they come when {@link reserveScaled} sized
   * the buckets for them. The table ends the same as if each pair had gone through `add`.
   */
  appendRangeFrom(
    source: PackedStringsData,
    first: number,
    end: number,
    hashes: Uint32Array,
    values: ArrayLike<number>,
    skipEmpty = false,
  ): void {
    const appended = this.#keys.pushRangeFrom(source, first, end, skipEmpty);
    if (this.#count + appended > this.#values.length) this.#growEntries(this.#count + appended);
    const offsets = source.offsets;
    let entry = this.#count;
    for (let i = first; i < end; i++) {
      if (skipEmpty && offsets[i + 1] === offsets[i]) continue;
      this.#hashes[entry] = hashes[i] as number;
      this.#values[entry] = values[i - first] as number;
      entry++;
    }
    this.#count = entry;
    this.#linkAsTheyCome();
  }

  /** Stores entry `entry` (its key already pushed) and puts it at the head of its bucket's chain. */
  #link(entry: number, hash: number, value: number): void {
    if (this.#count === this.#values.length) this.#growEntries();
    if (this.#count + 1 > this.#buckets.length * loadFactorMax) this.#rehash(this.#buckets.length * 2);
    this.#count++;
    this.#hashes[entry] = hash;
    this.#values[entry] = value;
    const bucket = hash & (this.#buckets.length - 1);
    this.#next[entry] = this.#buckets[bucket] as number;
    this.#buckets[bucket] = entry;
    this.#linkedCount = this.#count;
  }

  /** Every value stored under the key, oldest first. */
  get(key: string): number[] {
    this.#linkAppended();
    const hash = hashKey(key);
    const found: number[] = [];
    for (
      let entry = this.#buckets[hash & (this.#buckets.length - 1)] as number;
      entry !== noEntry;
      entry = this.#next[entry] as number
    ) {
      if (this.#hashes[entry] === hash && this.#keys.get(entry) === key)
        found.push(this.#values[entry] as number);
    }
    return found.reverse();
  }

  has(key: string): boolean {
    return this.get(key).length > 0;
  }

  /** Stored (key, value) pairs. */
  get size(): number {
    return this.#count;
  }

  saveTo(snapshot: SnapshotWriter, name: string): void {
    this.#linkAppended();
    this.#keys.saveTo(snapshot, `${name}.keys`);
    snapshot.bytes(`${name}.hashes`, this.#hashes.subarray(0, this.#count));
    snapshot.bytes(`${name}.values`, this.#values.subarray(0, this.#count));
    snapshot.bytes(`${name}.next`, this.#next.subarray(0, this.#count));
    snapshot.bytes(`${name}.buckets`, this.#buckets);
  }

  static loadFrom(snapshot: SnapshotReader, name: string): StringHashIndex {
    const index = new StringHashIndex();
    index.#keys = PackedStrings.loadFrom(snapshot, `${name}.keys`);
    index.#hashes = snapshot.array(`${name}.hashes`, Uint32Array);
    index.#values = snapshot.array(`${name}.values`, Int32Array);
    index.#next = snapshot.array(`${name}.next`, Int32Array);
    index.#buckets = snapshot.array(`${name}.buckets`, Int32Array);
    index.#count = index.#values.length;
    index.#linkedCount = index.#count;
    return index;
  }

  /**
   * Links appended entries now; otherwise the first read does. A builder calls it once it has appended
   * everything, so that an index it hands over is whole.
   */
  link(): void {
    this.#linkAppended();
  }

  /**
   * Links appended entries, into the bucket count `add` would have reached: every chain is rebuilt, unless
   * the buckets were reserved at that count and the entries linked as they came.
   */
  #linkAppended(): void {
    if (this.#bucketsReserved) {
      // Reserved buckets of another count (the table ended smaller or larger than expected) would give
      // another layout than a table built without reserving: rebuilt at the count `add` would have reached.
      const bucketCount = bucketCountFor(this.#count);
      if (this.#buckets.length === bucketCount) this.#linkFrom(this.#linkedCount);
      else this.#rehash(bucketCount);
      this.#bucketsReserved = false;
    } else if (this.#linkedCount < this.#count)
      this.#rehash(Math.max(this.#buckets.length, bucketCountFor(this.#count)));
  }

  /** Links appended entries now, when the buckets were reserved for them and they fit within the load factor. */
  #linkAsTheyCome(): void {
    if (this.#bucketsReserved && this.#count <= this.#buckets.length * loadFactorMax)
      this.#linkFrom(this.#linkedCount);
  }

  /**
   * Makes room for the table to grow `factor` times as it is, keys included, so that it copies nothing on
   * the way (see {@link PackedStrings.reserveScaled}). A table linked as it goes gets the buckets it will
   * need. A table of appended entries gets the buckets it is expected to end with, `expectedFactor` times as
   * many entries as now, and then links its entries as they come instead of all at once when first read:
   * an index build links ~6M appended keys, ~0.4 s at its end on one core.
   */
  reserveScaled(factor: number, expectedFactor = factor): void {
    this.#keys.reserveScaled(factor);
    const entries = Math.ceil(this.#count * factor);
    if (entries > this.#values.length) this.#growEntries(entries);
    if (this.#linkedCount < this.#count) {
      this.#bucketsReserved = true;
      this.#rehash(bucketCountFor(Math.ceil(this.#count * expectedFactor)));
    } else {
      const bucketCount = bucketCountFor(entries);
      if (bucketCount > this.#buckets.length) this.#rehash(bucketCount);
    }
  }

  #growEntries(atLeast = 0): void {
    const capacity = Math.max(1024, this.#values.length * 2, atLeast);
    const grow = <T extends Uint32Array | Int32Array>(array: T, make: (n: number) => T): T => {
      const grown = make(capacity);
      grown.set(array.subarray(0, this.#count));
      return grown;
    };
    this.#hashes = grow(this.#hashes, sharedUint32Array);
    this.#values = grow(this.#values, sharedInt32Array);
    this.#next = grow(this.#next, sharedInt32Array);
  }

  #rehash(bucketCount: number): void {
    this.#buckets = sharedInt32Array(bucketCount).fill(noEntry);
    this.#linkFrom(0);
  }

  /** Links entries `first` on, in order, each at the head of its bucket's chain. */
  #linkFrom(first: number): void {
    const buckets = this.#buckets;
    const mask = buckets.length - 1;
    for (let entry = first; entry < this.#count; entry++) {
      const bucket = (this.#hashes[entry] as number) & mask;
      this.#next[entry] = buckets[bucket] as number;
      buckets[bucket] = entry;
    }
    this.#linkedCount = this.#count;
  }
}
