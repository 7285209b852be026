/**
 * Company identifiers (VAT, tax id, registration number, DUNS, company id): normalization and the exact map.
 *
 * An identifier is compared after trimming, case-folding and removing separators, and without a leading
 * country prefix (`DE 123.456.789` = `123456789` for Germany) or a trailing tax marker (`MWST`, `TVA`, `MVA`).
 * Keys are `type:country:value`, so a VAT number never matches another company's DUNS number.
 */
import { type CountryIndex, countryEntry } from './countries.js';
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import type { PackedStringsData } from './packed-strings.js';
import { type IdentifierType, identifierTypes } from './reference-tables.js';
import { StringHashIndex } from './string-hash-index.js';

export { type IdentifierType, identifierTypes };

/** Identifiers with fewer significant characters than this are too weak to prove identity. */
export const identifierLengthMin = 4;
/** The longest identifier any registry issues is well under this (Indian CIN: 21). */
export const identifierLengthMax = 40;

const taxMarkers = ['MWST', 'TVA', 'IVA', 'MVA'];

/**
 * Normalizes an identifier value for a country; returns `undefined` when it is too short or too long to be
 * an identifier.
 *
 * @example normalizeIdentifier('DE 123.456.789', germany) // '123456789'
 */
export function normalizeIdentifier(value: string, country: CountryIndex): string | undefined {
  if (value.length > identifierLengthMax * 3) return undefined;
  // Most values are already upper-case letters and digits; only the others are case-folded and stripped
  // (every index build normalizes millions of them).
  let compact = isCompact(value) ? value : value.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const prefixes = countryPrefixesOf(country);
  if (prefixes) {
    for (const prefix of prefixes) {
      // Only a prefix followed by a digit is a country prefix: "ATU1234" keeps its U, "DELTA9" stays whole.
      if (compact.startsWith(prefix) && isDigitOrU(compact.charCodeAt(prefix.length))) {
        compact = compact.slice(prefix.length);
        break;
      }
    }
  }
  // Every marker ends in a letter; most identifiers end in a digit, and skip the four comparisons.
  if (isLetter(compact.charCodeAt(compact.length - 1))) {
    for (const marker of taxMarkers) {
      if (compact.endsWith(marker)) {
        compact = compact.slice(0, compact.length - marker.length);
        break;
      }
    }
  }
  if (compact.length < identifierLengthMin || compact.length > identifierLengthMax) return undefined;
  return compact;
}

/**
 * {@link normalizeIdentifier} of an ASCII value given as bytes, `value[start, end)`, written as bytes to
 * `out` from 0 on; returns its length, or -1 where `normalizeIdentifier` gives `undefined`. An index build
 * reads ~2M identifiers from an entity file's bytes: decoded and normalized as strings, they were a tenth of a
 * build worker. For ASCII, case-folding is a-z to A-Z, so this is the same as the string version (a property
 * test holds it to it); `out` needs `end - start` bytes.
 */
export function normalizeAsciiIdentifier(
  value: Uint8Array,
  start: number,
  end: number,
  country: CountryIndex,
  out: Uint8Array,
): number {
  if (end - start > identifierLengthMax * 3) return -1;
  let length = 0;
  for (let i = start; i < end; i++) {
    const unit = value[i] as number;
    if ((unit >= 0x41 && unit <= 0x5a) || (unit >= 0x30 && unit <= 0x39)) out[length++] = unit;
    else if (unit >= 0x61 && unit <= 0x7a) out[length++] = unit - 0x20;
  }
  let from = 0;
  const prefixes = countryPrefixesOf(country);
  if (prefixes) {
    for (const prefix of prefixes) {
      if (
        length > prefix.length &&
        startsWithText(out, length, prefix) &&
        isDigitOrU(out[prefix.length] as number)
      ) {
        from = prefix.length;
        break;
      }
    }
  }
  if (length > from && isLetter(out[length - 1] as number)) {
    for (const marker of taxMarkers) {
      if (length - from >= marker.length && endsWithText(out, length, marker)) {
        length -= marker.length;
        break;
      }
    }
  }
  const normalizedLength = length - from;
  if (normalizedLength < identifierLengthMin || normalizedLength > identifierLengthMax) return -1;
  if (from > 0) out.copyWithin(0, from, length);
  return normalizedLength;
}

/** Whether `bytes[0, length)` starts with the ASCII `text`. */
function startsWithText(bytes: Uint8Array, length: number, text: string): boolean {
  if (length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (bytes[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** Whether `bytes[0, length)` ends with the ASCII `text`. */
function endsWithText(bytes: Uint8Array, length: number, text: string): boolean {
  if (length < text.length) return false;
  for (let i = 0; i < text.length; i++)
    if (bytes[length - text.length + i] !== text.charCodeAt(i)) return false;
  return true;
}

const greekPrefixes = ['EL', 'GR', 'GRC'];

/** The prefixes a country's identifiers may carry, per country index, made once (undefined: none known). */
const countryPrefixes: (readonly string[] | undefined)[] = [];
function countryPrefixesOf(country: CountryIndex): readonly string[] | undefined {
  let prefixes = countryPrefixes[country];
  if (prefixes === undefined) {
    const entry = countryEntry(country);
    if (!entry) return undefined;
    prefixes = entry.alpha2 === 'GR' ? greekPrefixes : [entry.alpha3, entry.alpha2];
    countryPrefixes[country] = prefixes;
  }
  return prefixes;
}

/** Whether a value has nothing but upper-case ASCII letters and digits. */
function isCompact(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    if (!((unit >= 0x41 && unit <= 0x5a) || (unit >= 0x30 && unit <= 0x39))) return false;
  }
  return true;
}

function isLetter(unit: number): boolean {
  return unit >= 0x41 && unit <= 0x5a;
}

function isDigitOrU(unit: number): boolean {
  return (unit >= 0x30 && unit <= 0x39) || unit === 0x55;
}

export function identifierKey(type: IdentifierType, country: CountryIndex, normalizedValue: string): string {
  return `${type}:${country}:${normalizedValue}`;
}

/** Exact identifier map: key → entity indexes (usually one; a group VAT number can cover several). */
export class IdentifierIndex {
  #entitiesByKey = new StringHashIndex();

  /**
   * Adds identifiers of entities added last: keys `first` to `end` (exclusive) of a packed table
   * ({@link identifierKey}), their hashes at the same indexes, and `entities[i - first]` the entity of key i.
   * Keys name their type, so one entity never brings the same key twice: they are appended.
   */
  addPackedRange(
    keys: PackedStringsData,
    first: number,
    end: number,
    hashes: Uint32Array,
    entities: ArrayLike<number>,
  ): void {
    this.#entitiesByKey.appendRangeFrom(keys, first, end, hashes, entities);
  }

  /** Entities holding this already-normalized identifier in this country. */
  lookup(type: IdentifierType, country: CountryIndex, normalizedValue: string): readonly number[] {
    return this.#entitiesByKey.get(identifierKey(type, country, normalizedValue));
  }

  get size(): number {
    return this.#entitiesByKey.size;
  }

  /** Links the appended identifiers now, as a builder does once it has added them all (`StringHashIndex.link`). */
  link(): void {
    this.#entitiesByKey.link();
  }

  /** Makes room to grow `factor` times, and buckets for `expectedFactor` times, as `StringHashIndex.reserveScaled`. */
  reserveScaled(factor: number, expectedFactor: number): void {
    this.#entitiesByKey.reserveScaled(factor, expectedFactor);
  }

  saveTo(snapshot: SnapshotWriter, name: string): void {
    this.#entitiesByKey.saveTo(snapshot, name);
  }

  static loadFrom(snapshot: SnapshotReader, name: string): IdentifierIndex {
    const index = new IdentifierIndex();
    index.#entitiesByKey = StringHashIndex.loadFrom(snapshot, name);
    return index;
  }
}
