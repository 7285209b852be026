/**
 * An append-only table of strings in one UTF-8 buffer. A million ids and display names cost ~80 MB as
 * packed bytes against ~200 MB as separate JS strings, and only the few returned per query are decoded.
 *
 * @internal
 */
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';

const asciiFastPathLengthMax = 128;

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

export class PackedStrings {
  #bytes = Buffer.allocUnsafe(1 << 16);
  #length = 0;
  #offsets = new Uint32Array(1 << 12);
  #count = 0;

  push(text: string): number {
    // Most strings here are short and ASCII (ids, keys); copying them in a loop avoids two native calls
    // (byteLength, write) per string, which cost 7% of an index build.
    const needed =
      text.length <= asciiFastPathLengthMax && isAscii(text) ? text.length : Buffer.byteLength(text);
    if (this.#length + needed > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#length + needed));
      this.#bytes.copy(grown, 0, 0, this.#length);
      this.#bytes = grown;
    }
    if (this.#count + 2 > this.#offsets.length) {
      const grown = new Uint32Array(this.#offsets.length * 2);
      grown.set(this.#offsets);
      this.#offsets = grown;
    }
    if (needed === text.length) {
      const bytes = this.#bytes;
      for (let i = 0, at = this.#length; i < needed; i++, at++) bytes[at] = text.charCodeAt(i);
      this.#length += needed;
    } else this.#length += this.#bytes.write(text, this.#length, 'utf8');
    this.#count++;
    this.#offsets[this.#count] = this.#length;
    return this.#count - 1;
  }

  get(index: number): string {
    return this.#bytes.toString('utf8', this.#offsets[index], this.#offsets[index + 1]);
  }

  get size(): number {
    return this.#count;
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
