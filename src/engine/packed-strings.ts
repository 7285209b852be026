/**
 * An append-only table of strings in one UTF-8 buffer. A million ids and display names cost ~80 MB as
 * packed bytes against ~200 MB as separate JS strings, and only the few returned per query are decoded.
 *
 * @internal
 */
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import { sharedBytes, sharedUint32Array } from './shared-arrays.js';

const asciiFastPathLengthMax = 128;

/**
 * A table's bytes and offsets as plain typed arrays: what a build worker sends back for a chunk of names,
 * so that the indexing thread copies bytes instead of encoding strings.
 */
export interface PackedStringsData {
  bytes: Uint8Array;
  /** String i spans bytes[offsets[i] .. offsets[i + 1]). */
  offsets: Uint32Array;
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

export class PackedStrings {
  #bytes = sharedBytes(1 << 16);
  #length = 0;
  #offsets = sharedUint32Array(1 << 12);
  #count = 0;

  push(text: string): number {
    // Most strings here are short and ASCII (ids, keys); copying them in a loop avoids two native calls
    // (byteLength, write) per string, which cost 7% of an index build.
    const needed =
      text.length <= asciiFastPathLengthMax && isAscii(text) ? text.length : Buffer.byteLength(text);
    this.#reserve(needed, 1);
    if (needed === text.length) {
      const bytes = this.#bytes;
      for (let i = 0, at = this.#length; i < needed; i++, at++) bytes[at] = text.charCodeAt(i);
      this.#length += needed;
    } else this.#length += this.#bytes.write(text, this.#length, 'utf8');
    this.#count++;
    this.#offsets[this.#count] = this.#length;
    return this.#count - 1;
  }

  /**
   * Appends `text` without its character `at`, as `push(text.slice(0, at) + text.slice(at + 1))` would,
   * without making that string: an index build stores every one-letter deletion of every new word. `text` is
   * ASCII, as normalized words are.
   */
  pushWithout(text: string, at: number): number {
    const length = text.length - 1;
    this.#reserve(length, 1);
    const bytes = this.#bytes;
    let to = this.#length;
    for (let i = 0; i < text.length; i++) {
      if (i === at) continue;
      const unit = text.charCodeAt(i);
      if (unit > 0x7f) throw new RangeError(`ASCII text only: ${JSON.stringify(text)}`);
      bytes[to++] = unit;
    }
    this.#length = to;
    this.#count++;
    this.#offsets[this.#count] = this.#length;
    return this.#count - 1;
  }

  /** Appends string `index` of another table as it is, bytes for bytes. */
  pushFrom(source: PackedStringsData, index: number): number {
    const start = source.offsets[index] as number;
    const end = source.offsets[index + 1] as number;
    this.#reserve(end - start, 1);
    // A loop, not `set(subarray(…))`: the strings are short, and a view per string was a tenth of a build.
    const bytes = this.#bytes;
    const from = source.bytes;
    for (let i = start, at = this.#length; i < end; i++, at++) bytes[at] = from[i] as number;
    this.#length += end - start;
    this.#count++;
    this.#offsets[this.#count] = this.#length;
    return this.#count - 1;
  }

  /**
   * Appends strings `first` to `end` (exclusive) of another table as they are, their bytes in one copy; with
   * `skipEmpty`, its empty strings are not appended. Returns how many strings were. An index build appends a
   * chunk's names this way: copied a string at a time, byte by byte, they were a tenth of its linking thread.
   */
  pushRangeFrom(source: PackedStringsData, first: number, end: number, skipEmpty = false): number {
    const from = source.offsets;
    const start = from[first] as number;
    const byteLength = (from[end] as number) - start;
    this.#reserve(byteLength, end - first);
    this.#bytes.set(source.bytes.subarray(start, start + byteLength), this.#length);
    const offsets = this.#offsets;
    const shift = this.#length - start;
    let count = this.#count;
    for (let i = first; i < end; i++) {
      const next = from[i + 1] as number;
      if (skipEmpty && next === from[i]) continue;
      offsets[++count] = next + shift;
    }
    const pushed = count - this.#count;
    this.#count = count;
    this.#length += byteLength;
    return pushed;
  }

  /** Whether string `index` of this table has the same bytes as string `sourceIndex` of another. */
  equalsFrom(index: number, source: PackedStringsData, sourceIndex: number): boolean {
    const start = this.#offsets[index] as number;
    const length = (this.#offsets[index + 1] as number) - start;
    const sourceStart = source.offsets[sourceIndex] as number;
    if ((source.offsets[sourceIndex + 1] as number) - sourceStart !== length) return false;
    for (let i = 0; i < length; i++)
      if (this.#bytes[start + i] !== source.bytes[sourceStart + i]) return false;
    return true;
  }

  get(index: number): string {
    return this.#bytes.toString('utf8', this.#offsets[index], this.#offsets[index + 1]);
  }

  /** Room for `count` more strings of `byteLength` bytes in all. */
  #reserve(byteLength: number, count: number): void {
    if (this.#length + byteLength > this.#bytes.length)
      this.#growBytes(Math.max(this.#bytes.length * 2, this.#length + byteLength));
    if (this.#count + count + 1 > this.#offsets.length)
      this.#growOffsets(Math.max(this.#offsets.length * 2, this.#count + count + 1));
  }

  /**
   * Makes room for the table to grow `factor` times as it is (strings and bytes), so that it copies nothing
   * on the way (see `MatcherBuilder`). Room never used costs address space, not memory.
   */
  reserveScaled(factor: number): void {
    const bytes = Math.ceil(this.#length * factor);
    if (bytes > this.#bytes.length) this.#growBytes(bytes);
    const offsets = Math.ceil(this.#count * factor) + 2;
    if (offsets > this.#offsets.length) this.#growOffsets(offsets);
  }

  #growBytes(capacity: number): void {
    const grown = sharedBytes(capacity);
    this.#bytes.copy(grown, 0, 0, this.#length);
    this.#bytes = grown;
  }

  #growOffsets(capacity: number): void {
    const grown = sharedUint32Array(capacity);
    grown.set(this.#offsets.subarray(0, this.#count + 1));
    this.#offsets = grown;
  }

  get size(): number {
    return this.#count;
  }

  /** The strings' bytes and offsets as they stand: views of the used part, valid until the next push. */
  get data(): PackedStringsData {
    return {
      bytes: this.#bytes.subarray(0, this.#length),
      offsets: this.#offsets.subarray(0, this.#count + 1),
    };
  }

  saveTo(snapshot: SnapshotWriter, name: string): void {
    snapshot.bytes(`${name}.bytes`, this.#bytes.subarray(0, this.#length));
    snapshot.bytes(`${name}.offsets`, this.#offsets.subarray(0, this.#count + 1));
  }

  static loadFrom(snapshot: SnapshotReader, name: string): PackedStrings {
    const strings = new PackedStrings();
    strings.#bytes = Buffer.from(snapshot.bytes(`${name}.bytes`));
    strings.#length = strings.#bytes.length;
    strings.#offsets = snapshot.array(`${name}.offsets`, Uint32Array);
    strings.#count = strings.#offsets.length - 1;
    return strings;
  }
}
