/**
 * A validating JSON scanner over UTF-8 bytes that reports where values are instead of building them. The
 * import uses it to copy an entity's fields and certificates from its line into the stored document as they
 * are, without decoding the line to a string, parsing it and encoding it again (that round trip was ~80% of
 * the import's parsing time).
 *
 * It accepts exactly the JSON grammar of RFC 8259 except that it gives up, rather than answer, on containers
 * nested deeper than {@link maxScanDepth}: every scan returns the offset after what it read, or -1 when the
 * bytes are not JSON or it gave up. Callers then fall back to `JSON.parse`, which also words the error. Bytes
 * above 0x7f are not checked here; the caller checks the line is UTF-8.
 *
 * @internal
 */

/** Deeper containers are left to JSON.parse: the scanner recurses, and a line can nest thousands deep. */
export const maxScanDepth = 64;

const quote = 0x22;
const backslash = 0x5c;

/** Hex digit → true, for `\uXXXX` escapes. */
const isHex = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') isHex[c.charCodeAt(0)] = 1;
/** The characters allowed after a backslash, other than `u`. */
const isShortEscape = new Uint8Array(256);
for (const c of '"\\/bfnrt') isShortEscape[c.charCodeAt(0)] = 1;

const isDigit = (c: number | undefined) => c !== undefined && c >= 0x30 && c <= 0x39;

export class JsonScanner {
  /** Whether the last string scanned had an escape, so its bytes are not its text. */
  escaped = false;

  constructor(
    readonly bytes: Uint8Array,
    readonly end: number,
  ) {}

  /** The offset of the first byte at or after `i` that is not JSON whitespace. */
  skipWhitespace(i: number): number {
    const bytes = this.bytes;
    while (i < this.end) {
      const c = bytes[i];
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
    return i;
  }

  /** A string starting at `i` (its opening quote): the offset after its closing quote, or -1. */
  skipString(i: number): number {
    const bytes = this.bytes;
    const end = this.end;
    if (bytes[i] !== quote) return -1;
    this.escaped = false;
    i++;
    while (i < end) {
      const c = bytes[i] as number;
      if (c === quote) return i + 1;
      if (c === backslash) {
        this.escaped = true;
        const next = bytes[i + 1];
        if (next === 0x75) {
          // \uXXXX
          if (i + 6 > end) return -1;
          for (let k = i + 2; k < i + 6; k++) if (isHex[bytes[k] as number] === 0) return -1;
          i += 6;
        } else if (next !== undefined && i + 1 < end && isShortEscape[next] === 1) {
          i += 2;
        } else {
          return -1;
        }
        continue;
      }
      if (c < 0x20) return -1; // control characters must be escaped
      i++;
    }
    return -1;
  }

  /** A number starting at `i`: the offset after it, or -1. */
  skipNumber(i: number): number {
    const bytes = this.bytes;
    const end = this.end;
    const at = (k: number) => (k < end ? bytes[k] : undefined);
    if (at(i) === 0x2d) i++; // -
    if (at(i) === 0x30) i++;
    else if (isDigit(at(i))) while (isDigit(at(i))) i++;
    else return -1;
    if (at(i) === 0x2e) {
      // .
      i++;
      if (!isDigit(at(i))) return -1;
      while (isDigit(at(i))) i++;
    }
    const e = at(i);
    if (e === 0x65 || e === 0x45) {
      i++;
      const sign = at(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(at(i))) return -1;
      while (isDigit(at(i))) i++;
    }
    return i;
  }

  /** Any value starting at `i` (no whitespace before it): the offset after it, or -1. */
  skipValue(i: number, depth = 0): number {
    const c = i < this.end ? this.bytes[i] : undefined;
    switch (c) {
      case quote:
        return this.skipString(i);
      case 0x7b: // {
      case 0x5b: // [
        return depth >= maxScanDepth ? -1 : this.#skipContainer(i, depth);
      case 0x74: // t
        return this.#literal(i, 'true');
      case 0x66: // f
        return this.#literal(i, 'false');
      case 0x6e: // n
        return this.#literal(i, 'null');
      default:
        return this.skipNumber(i);
    }
  }

  /** An object or an array, as {@link members} and {@link elements} read them, without a callback per value. */
  #skipContainer(i: number, depth: number): number {
    const bytes = this.bytes;
    const isObject = bytes[i] === 0x7b;
    const close = isObject ? 0x7d : 0x5d;
    i = this.skipWhitespace(i + 1);
    if (i < this.end && bytes[i] === close) return i + 1;
    for (;;) {
      if (isObject) {
        i = this.skipString(i);
        if (i < 0) return -1;
        i = this.skipWhitespace(i);
        if (i >= this.end || bytes[i] !== 0x3a) return -1; // :
        i = this.skipWhitespace(i + 1);
      }
      i = this.skipValue(i, depth + 1);
      if (i < 0) return -1;
      i = this.skipWhitespace(i);
      if (i >= this.end) return -1;
      if (bytes[i] === close) return i + 1;
      if (bytes[i] !== 0x2c) return -1; // ,
      i = this.skipWhitespace(i + 1);
    }
  }

  /**
   * An object starting at `i` (its `{`). For each member, `visit` gets its key's bytes (quotes included) and
   * where its value starts, and returns where the value ends (or -1). Returns the offset after the `}`, or -1.
   * `escaped` tells `visit` whether the key had an escape.
   */
  members(i: number, visit: (keyStart: number, keyEnd: number, valueStart: number) => number): number {
    const bytes = this.bytes;
    if (bytes[i] !== 0x7b) return -1;
    i = this.skipWhitespace(i + 1);
    if (i < this.end && bytes[i] === 0x7d) return i + 1; // {}
    for (;;) {
      const keyStart = i;
      const keyEnd = this.skipString(i);
      if (keyEnd < 0) return -1;
      i = this.skipWhitespace(keyEnd);
      if (i >= this.end || bytes[i] !== 0x3a) return -1; // :
      i = visit(keyStart, keyEnd, this.skipWhitespace(i + 1));
      if (i < 0) return -1;
      i = this.skipWhitespace(i);
      if (i >= this.end) return -1;
      if (bytes[i] === 0x7d) return i + 1; // }
      if (bytes[i] !== 0x2c) return -1; // ,
      i = this.skipWhitespace(i + 1);
    }
  }

  /**
   * An array starting at `i` (its `[`). `visit` gets where each element starts and returns where it ends (or
   * -1). Returns the offset after the `]`, or -1.
   */
  elements(i: number, visit: (valueStart: number) => number): number {
    const bytes = this.bytes;
    if (bytes[i] !== 0x5b) return -1;
    i = this.skipWhitespace(i + 1);
    if (i < this.end && bytes[i] === 0x5d) return i + 1; // []
    for (;;) {
      i = visit(i);
      if (i < 0) return -1;
      i = this.skipWhitespace(i);
      if (i >= this.end) return -1;
      if (bytes[i] === 0x5d) return i + 1; // ]
      if (bytes[i] !== 0x2c) return -1; // ,
      i = this.skipWhitespace(i + 1);
    }
  }

  #literal(i: number, word: string): number {
    if (i + word.length > this.end) return -1;
    for (let k = 0; k < word.length; k++) if (this.bytes[i + k] !== word.charCodeAt(k)) return -1;
    return i + word.length;
  }
}
