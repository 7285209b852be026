/**
 * Reads the fields the index needs straight from an entity line's bytes, for lines laid out the way
 * `JSON.stringify` writes an entity record (as the generator writes its files): the read fields first, in the
 * API's order, with no whitespace, then the addresses or certificates, or the end of the line.
 *
 * Why: decoding each line's head and `JSON.parse`-ing it was a third of a build worker's time (~3 µs a line:
 * the parser builds an object per line and interns every short value, a DUNS number included). Scanning the
 * bytes and decoding only the names costs less than half that; the ce_id, the display name and the identifiers
 * are handed on as byte ranges (see {@link ScannedLine}).
 *
 * It answers only what it can answer exactly as the parsing path would (`indexedFieldsOf` of the parsed
 * line): any other layout, an escape or control character in a read string, a value of another type, a
 * repeated identifier key, an unknown country, a blank name or a malformed ce_id gives `undefined`, and the
 * caller parses the line, which also words the error. A property test holds the two paths to the same answers.
 *
 * @internal
 */
import { type CountryIndex, resolveCountry, unknownCountry } from './countries.js';
import { isCertifiedEntityIdCharacter } from './entity-record.js';
import type { IndexedFields } from './index-chunk.js';
import { identifierTypes } from './reference-tables.js';

const ascii = (text: string) => Buffer.from(text, 'latin1');

// Each read field with what precedes its value, as `JSON.stringify` writes them.
const ceIdStart = ascii('{"ce_id":"ce_');
const nameKey = ascii('","certified_entity_name":"');
const englishNameKey = ascii(',"certified_entity_english_name":');
const tradingNameKey = ascii(',"certified_entity_trading_name":');
const countryKey = ascii(',"country":"');
const identifiersKey = ascii(',"company_identifiers":{');
/**
 * Fields of an entity line the engine never reads, each a large array: addresses and certificates are most
 * of a line. The generator and the catalog write them after the fields the engine needs. A line is cut at
 * the first marker found, in this order (see `parseEntityLine`).
 */
export const unreadFieldMarkers = [',"certified_entity_addresses":[', ',"certificates":['] as const;
export const unreadFieldMarkerBytes = unreadFieldMarkers.map(ascii);
const [addressesKey, certificatesKey] = unreadFieldMarkerBytes as [Buffer, Buffer];
const identifierKeys = identifierTypes.map(ascii);

/**
 * What a scan read of a line. The names are decoded, as normalization needs them; the ce_id, the display name
 * and the identifiers are kept as byte ranges of the line, which the chunk writer copies or normalizes as
 * bytes when they are ASCII, without decoding them (see `PreparedChunkWriter.addScanned`).
 */
export class ScannedLine {
  constructor(
    readonly line: Buffer,
    /** Where the ce_id's 27 ASCII bytes start. */
    readonly ceIdAt: number,
    readonly name: string,
    /** Where the name's bytes start and end in the line, and whether they are ASCII. */
    readonly nameAt: number,
    readonly nameEnd: number,
    readonly nameIsAscii: boolean,
    readonly englishName: string | null,
    readonly tradingName: string | null,
    readonly country: CountryIndex,
    /**
     * Per {@link identifierTypes} entry: the start, end and ASCII-ness (1 or 0) of its value's bytes; start
     * -1 when there is no value (absent, null or empty).
     */
    readonly identifiers: number[],
  ) {}

  /** The fields as `indexedFieldsOf` reads them from the parsed line (for tests; builds use the bytes). */
  toIndexedFields(): IndexedFields {
    const { line } = this;
    const fields: IndexedFields = [
      line.toString('latin1', this.ceIdAt, this.ceIdAt + 27),
      this.name,
      this.englishName,
      this.tradingName,
      this.country,
    ];
    for (let type = 0; type < identifierTypes.length; type++) {
      const [start, end, isAscii] = this.identifiers.slice(3 * type, 3 * type + 3) as [
        number,
        number,
        number,
      ];
      fields.push(start < 0 ? null : line.toString(isAscii ? 'latin1' : 'utf8', start, end));
    }
    return fields;
  }
}

const quote = 0x22;
const backslash = 0x5c;
const comma = 0x2c;
const colon = 0x3a;
const closingBrace = 0x7d;

/** Countries by their two bytes, for the usual alpha-2 code: -1 until first resolved. */
const countryByCode = new Int16Array(1 << 16).fill(-1);

/**
 * A scan's position and last value: one per thread, reused for every line, so a scan allocates nothing but
 * the strings it returns.
 */
const scan = { at: 0, value: null as string | null, isAscii: true };

/** Whether `token` is at `at`. */
function isAt(line: Buffer, at: number, end: number, token: Buffer): boolean {
  if (at + token.length > end) return false;
  for (let k = 0; k < token.length; k++) if (line[at + k] !== token[k]) return false;
  return true;
}

/**
 * Where the string whose contents start at `at` (after its opening quote) ends: its closing quote, or -1 when
 * it has an escape or a control character (left to the parser) or does not end. Sets `scan.isAscii`.
 */
function closingQuote(line: Buffer, at: number, end: number): number {
  let isAscii = true;
  for (let i = at; i < end; i++) {
    const c = line[i] as number;
    if (c === quote) {
      scan.isAscii = isAscii;
      return i;
    }
    if (c === backslash || c < 0x20) return -1;
    if (c > 0x7f) isAscii = false;
  }
  return -1;
}

/**
 * A string's contents from `at` (after its opening quote): sets `scan.value` and `scan.at` (after the closing
 * quote); false as {@link closingQuote}.
 */
function readString(line: Buffer, at: number, end: number): boolean {
  const close = closingQuote(line, at, end);
  if (close < 0) return false;
  scan.value = decoded(line, at, close);
  scan.at = close + 1;
  return true;
}

/** The contents of a string found by {@link closingQuote}, from `at` to its closing quote at `close`. */
function decoded(line: Buffer, at: number, close: number): string {
  // A string without escapes is its bytes: decoded apart, invalid UTF-8 gives the same U+FFFD as decoding
  // the whole line (a quote cannot continue a multi-byte character).
  return line.toString(scan.isAscii ? 'latin1' : 'utf8', at, close);
}

/** A string or `null` at `at`, as {@link readString}. */
function readStringOrNull(line: Buffer, at: number, end: number): boolean {
  if (line[at] === quote) return readString(line, at + 1, end);
  if (isNullAt(line, at, end)) {
    scan.value = null;
    scan.at = at + 4;
    return true;
  }
  return false;
}

/** Whether `null` is at `at`. */
function isNullAt(line: Buffer, at: number, end: number): boolean {
  return (
    at + 4 <= end &&
    line[at] === 0x6e &&
    line[at + 1] === 0x75 &&
    line[at + 2] === 0x6c &&
    line[at + 3] === 0x6c
  );
}

/**
 * The indexed fields of the line `line[start, end)` (no line break), or `undefined` when the line must be
 * parsed instead.
 */
export function scanIndexedFields(line: Buffer, start: number, end: number): ScannedLine | undefined {
  if (!isAt(line, start, end, ceIdStart)) return undefined;
  let at = start + ceIdStart.length;
  if (at + 24 > end) return undefined;
  for (let k = 0; k < 24; k++)
    if (isCertifiedEntityIdCharacter[line[at + k] as number] === 0) return undefined;
  const ceIdAt = at - 3;
  at += 24;

  const nameAt = at + nameKey.length;
  if (!isAt(line, at, end, nameKey) || !readString(line, nameAt, end)) return undefined;
  const name = scan.value as string;
  const nameEnd = scan.at - 1;
  const nameIsAscii = scan.isAscii;
  if (name.trim() === '') return undefined;
  if (!isAt(line, scan.at, end, englishNameKey)) return undefined;
  if (!readStringOrNull(line, scan.at + englishNameKey.length, end)) return undefined;
  const englishName = scan.value;
  if (!isAt(line, scan.at, end, tradingNameKey)) return undefined;
  if (!readStringOrNull(line, scan.at + tradingNameKey.length, end)) return undefined;
  const tradingName = scan.value;

  if (!isAt(line, scan.at, end, countryKey)) return undefined;
  at = scan.at + countryKey.length;
  const countryEnd = closingQuote(line, at, end);
  if (countryEnd < 0) return undefined;
  let country: number;
  if (countryEnd - at === 2) {
    // The usual alpha-2 code, resolved once per code and never decoded again (a decoding costs ~0.15 µs).
    const code = ((line[at] as number) << 8) | (line[at + 1] as number);
    country = countryByCode[code] as number;
    if (country < 0) country = countryByCode[code] = resolveCountry(decoded(line, at, countryEnd));
  } else country = resolveCountry(decoded(line, at, countryEnd));
  if (country === unknownCountry) return undefined;

  if (!isAt(line, countryEnd + 1, end, identifiersKey)) return undefined;
  const identifiers: number[] = [];
  for (let type = 0; type < identifierTypes.length; type++) identifiers.push(-1, -1, 0);
  let seen = 0;
  at = countryEnd + 1 + identifiersKey.length;
  if (line[at] === closingBrace) at++;
  else
    for (;;) {
      // A key is compared as bytes, never decoded; so is a value.
      const keyStart = at + 1;
      const keyEnd = line[at] === quote ? closingQuote(line, keyStart, end) : -1;
      if (keyEnd < 0) return undefined;
      const keyLength = keyEnd - keyStart;
      if (line[keyEnd + 1] !== colon) return undefined;
      at = keyEnd + 2;
      let valueStart = -1;
      let valueEnd = -1;
      if (line[at] === quote) {
        valueEnd = closingQuote(line, at + 1, end);
        if (valueEnd < 0) return undefined;
        valueStart = at + 1;
        at = valueEnd + 1;
      } else if (isNullAt(line, at, end)) at += 4;
      else return undefined;
      for (let type = 0; type < identifierKeys.length; type++) {
        const key = identifierKeys[type] as Buffer;
        if (key.length !== keyLength || !isAt(line, keyStart, end, key)) continue;
        // A repeated key: the parser keeps the last; rare enough to leave to it.
        if ((seen & (1 << type)) !== 0) return undefined;
        seen |= 1 << type;
        // An empty value is no value, as for the parsing path.
        if (valueEnd > valueStart) {
          identifiers[3 * type] = valueStart;
          identifiers[3 * type + 1] = valueEnd;
          identifiers[3 * type + 2] = scan.isAscii ? 1 : 0;
        }
        break;
      }
      if (line[at] === comma) {
        at++;
        continue;
      }
      if (line[at] !== closingBrace) return undefined;
      at++;
      break;
    }

  // The line ends here, or the fields that are never read start. The parsing path cuts a line at its
  // addresses when it has any, even after its certificates: then it parses the certificates too, so it is
  // left to do so.
  const ends =
    (line[at] === closingBrace && at + 1 === end) ||
    isAt(line, at, end, addressesKey) ||
    (isAt(line, at, end, certificatesKey) && line.subarray(at, end).indexOf(addressesKey) < 0);
  if (!ends) return undefined;
  return new ScannedLine(
    line,
    ceIdAt,
    name,
    nameAt,
    nameEnd,
    nameIsAscii,
    englishName,
    tradingName,
    country,
    identifiers,
  );
}
