/**
 * The per-entity half of an index build, done a chunk of entities at a time where it parallelizes (the
 * build workers): validation, name normalization, each name's distinct tokens, every exact key (ce_id, whole
 * name, order-free name, identifiers) with its hash, encoded as bytes. What comes back is typed arrays and
 * packed bytes, so that the one thread that owns the index only copies bytes and links them into its tables;
 * nothing it does depends on how a name is normalized.
 *
 * The same function runs on the calling thread when a build has no workers: one code path either way.
 *
 * @internal
 */
import { threadId } from 'node:worker_threads';
import { type CountryIndex, resolveCountry, unknownCountry } from './countries.js';
import {
  ScannedLine,
  scanIndexedFields,
  unreadFieldMarkerBytes,
  unreadFieldMarkers,
} from './entity-line-scan.js';
import { type CertifiedEntityRecord, isCertifiedEntityId } from './entity-record.js';
import {
  type IdentifierType,
  identifierKey,
  identifierTypes,
  normalizeAsciiIdentifier,
  normalizeIdentifier,
} from './identifiers.js';
import { compactKey, normalizeName } from './normalize.js';
import type { PackedStringsData } from './packed-strings.js';
import { PackedKeyWriter } from './string-hash-index.js';

/**
 * What the index reads of a valid entity, flattened so that it crosses to a worker cheaply: ce_id, display
 * name, the three names to index (legal, English, trading; null when absent), the resolved country, then one
 * value per {@link identifierTypes} entry (null when absent).
 */
export type IndexedFields = [
  ceId: string,
  legalName: string,
  englishName: string | null,
  tradingName: string | null,
  country: CountryIndex,
  ...identifiers: (string | null)[],
];

const identifiersAt = 5;

/** The fields the index reads from an entity, or why the entity cannot be indexed. */
export function indexedFieldsOf(entity: unknown): IndexedFields | string {
  if (typeof entity !== 'object' || entity === null) return 'an entity must be a JSON object';
  const record = entity as Record<string, unknown>;
  const ceId = record.ce_id;
  if (typeof ceId !== 'string' || !isCertifiedEntityId(ceId)) {
    return 'ce_id must be "ce_" followed by 24 letters or digits';
  }
  const name = record.certified_entity_name;
  if (typeof name !== 'string' || name.trim() === '') return 'certified_entity_name is required';
  const country = typeof record.country === 'string' ? resolveCountry(record.country) : unknownCountry;
  if (country === unknownCountry) return `unknown country ${JSON.stringify(record.country)}`;
  const fields: IndexedFields = [
    ceId,
    name,
    stringOrNull(record.certified_entity_english_name),
    stringOrNull(record.certified_entity_trading_name),
    country,
  ];
  const identifiers = record.company_identifiers;
  for (const type of identifierTypes) {
    const value =
      typeof identifiers === 'object' && identifiers !== null
        ? (identifiers as Record<string, unknown>)[type]
        : undefined;
    fields.push(typeof value === 'string' && value !== '' ? value : null);
  }
  return fields;
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

/**
 * A chunk for the build workers: entities already checked on the sending thread (a string is why one
 * cannot be indexed), or NDJSON lines that the worker parses and checks itself, as text or as the file's
 * undecoded bytes (whole lines, each ended by a line break but perhaps the last).
 */
export type IndexChunkInput =
  | { entities: (IndexedFields | string)[] }
  | { lines: string[] }
  | { bytes: Uint8Array };

/** A chunk's entities, prepared. Item i is the chunk's entity (or line) i. */
export interface PreparedChunk {
  /** Items that cannot be indexed, and why, in item order. Blank lines are neither entities nor problems. */
  problems: { item: number; message: string }[];
  // Per entity that can be indexed, in item order:
  items: Int32Array;
  countries: Uint16Array;
  ceIds: PackedStringsData;
  ceIdHashes: Uint32Array;
  /** `certified_entity_name` as given, for answers. */
  displayNames: PackedStringsData;
  /** The entity's name records end here (exclusive); they start where the previous entity's end. */
  recordsEnd: Uint32Array;
  /** Likewise for its identifier keys. */
  identifiersEnd: Uint32Array;
  // Per name record (an entity's distinct normalized names):
  /** Tokens joined by single spaces, one byte per character, as the name store keeps them. */
  texts: PackedStringsData;
  legalForms: Uint16Array;
  /** `country:compact name`. */
  wholeNames: PackedStringsData;
  wholeNameHashes: Uint32Array;
  /** `country:` + tokens sorted and joined; empty for a name of one token (no other order exists). */
  orderFreeNames: PackedStringsData;
  orderFreeNameHashes: Uint32Array;
  /** The record's distinct tokens, in order of first appearance, end here in `recordWords` (exclusive). */
  tokensEnd: Uint32Array;
  /** Tokens as ids of the preparing thread's {@link WordDictionary}. */
  recordWords: Uint32Array;
  /** Which dictionary the ids are of. */
  dictionary: string;
  /** Words this dictionary first met in this chunk; they took ids `firstNewWord` on, in order. */
  newWords: string[];
  firstNewWord: number;
  // Per identifier:
  identifiers: PackedStringsData;
  identifierHashes: Uint32Array;
}

/** Indexes of the first and one-past-last elements of part `at` of a list cut at `ends`. */
export function rangeOf(ends: Uint32Array, at: number): [number, number] {
  return [at === 0 ? 0 : (ends[at - 1] as number), ends[at] as number];
}

/**
 * Parses one line of an entity file. When the line holds addresses or certificates after every field the
 * engine reads (as the generator and the catalog write it), only the part before them is parsed: half the
 * work or less. Any other layout is parsed whole. The cut is found safely: a marker such as
 * `,"certificates":[` has unescaped quotes, so it cannot occur inside a JSON string, and a cut inside a
 * nested object leaves unbalanced JSON, which fails to parse. (A key repeated after the cut is not seen;
 * parsed whole, the repeat would win.) The entity is not checked.
 */
export function parseEntityLine(line: string): CertifiedEntityRecord {
  let cut = -1;
  for (const marker of unreadFieldMarkers) {
    const at = line.indexOf(marker);
    if (at > 0) {
      cut = at;
      break;
    }
  }
  return cut > 0
    ? parseCutLine(`${line.slice(0, cut)}}`, () => line)
    : (JSON.parse(line) as CertifiedEntityRecord);
}

/** Where the fields the engine does not read start in a line's bytes (as {@link parseEntityLine}), or -1. */
function unreadFieldsAt(line: Buffer): number {
  for (const marker of unreadFieldMarkerBytes) {
    const at = line.indexOf(marker);
    if (at > 0) return at;
  }
  return -1;
}

/**
 * The line's head as text with the object's closing brace, decoded at once: the comma where the unread
 * fields start is replaced by `}` for the decoding and put back, so no string is joined and then flattened
 * for the parser.
 */
function headWithBrace(line: Buffer, cut: number): string {
  line[cut] = 0x7d; // }
  const head = line.toString('utf8', 0, cut + 1);
  line[cut] = 0x2c; // , (each marker starts with one)
  return head;
}

/** Every field the index reads: a cut line is used only when its head holds them all. */
const readFields = [
  'ce_id',
  'certified_entity_name',
  'certified_entity_english_name',
  'certified_entity_trading_name',
  'country',
  'company_identifiers',
];

/**
 * Parses the part of a line before its unread fields, closed by a brace, when that is valid JSON holding
 * every field the index reads (a field written after addresses would otherwise be lost); else the whole line.
 */
function parseCutLine(headObject: string, wholeLine: () => string): CertifiedEntityRecord {
  try {
    const entity = JSON.parse(headObject) as unknown;
    if (typeof entity === 'object' && entity !== null && readFields.every((field) => field in entity))
      return entity as CertifiedEntityRecord;
  } catch {
    // Not the expected layout after all.
  }
  // Parsed whole, which also words the error when there is one.
  return JSON.parse(wholeLine()) as CertifiedEntityRecord;
}

/**
 * The words a preparing thread has sent, each with an id of its own. A chunk's tokens cross threads as
 * these ids, and each word's text crosses once per thread rather than once per chunk; the receiving side
 * keeps one translation per dictionary (profiled at 1M entities: looking up ~2M freshly received strings
 * was a sixth of the indexing thread's time). A chunk may use words that an earlier-prepared chunk brought;
 * a thread does not prepare chunks in the order they were sent (Piscina's queue does not promise it), so
 * the receiver learns each chunk's words as its result arrives, which is the order it was prepared in, not
 * when it links it.
 */
export class WordDictionary {
  static #created = 0;
  /** Unique within the process: the thread, and the dictionary's number in it. */
  readonly id = `${threadId}.${++WordDictionary.#created}`;
  readonly #ids = new Map<string, number>();

  get size(): number {
    return this.#ids.size;
  }

  /** The word's id; a word not yet known is added to `newWords` and known from the next call on. */
  idOf(word: string, newWords: string[]): number {
    let id = this.#ids.get(word);
    if (id === undefined) {
      id = this.#ids.size;
      this.#ids.set(word, id);
      newWords.push(word);
    }
    return id;
  }
}

/**
 * Prepares a chunk of entities for linking (see the module comment). The work is split into functions that
 * V8 optimizes one by one: as one function, the entity loop was compiled on the stack (OSR) with everything
 * inlined, and code after the loop, which had not run yet, threw it back to the interpreter, to be compiled
 * again: six compilations of ~0.1 s per build in two workers, on the same two cores as the build.
 */
export function prepareIndexChunk(input: IndexChunkInput, dictionary: WordDictionary): PreparedChunk {
  const firstNewWord = dictionary.size;
  const read = readChunk(input);
  const writer = new PreparedChunkWriter(read.items.length, dictionary);
  for (let e = 0; e < read.items.length; e++) {
    const fields = read.fields[e] as IndexedFields | ScannedLine;
    if (fields instanceof ScannedLine) writer.addScanned(read.items[e] as number, fields);
    else writer.addEntity(read.items[e] as number, fields);
  }
  return writer.toChunk(read.problems, firstNewWord);
}

/** A chunk's entities that can be indexed (item numbers and fields) and its problems, in item order. */
interface ReadChunk {
  problems: PreparedChunk['problems'];
  items: number[];
  fields: (IndexedFields | ScannedLine)[];
}

function readChunk(input: IndexChunkInput): ReadChunk {
  const read: ReadChunk = { problems: [], items: [], fields: [] };
  if ('entities' in input) {
    for (let item = 0; item < input.entities.length; item++)
      accept(read, item, input.entities[item] as IndexedFields | string);
  } else if ('lines' in input) {
    for (let item = 0; item < input.lines.length; item++) {
      const line = input.lines[item] as string;
      if (line.trim() !== '') acceptParsed(read, item, () => parseEntityLine(line));
    }
  } else readLineBytes(input.bytes, read);
  return read;
}

function accept(read: ReadChunk, item: number, fields: IndexedFields | ScannedLine | string): void {
  if (typeof fields === 'string') read.problems.push({ item, message: fields });
  else {
    read.items.push(item);
    read.fields.push(fields);
  }
}

function acceptParsed(read: ReadChunk, item: number, parse: () => CertifiedEntityRecord): void {
  let entity: unknown;
  try {
    entity = parse();
  } catch (error) {
    read.problems.push({ item, message: `not valid JSON: ${(error as Error).message}` });
    return;
  }
  accept(read, item, indexedFieldsOf(entity));
}

/** Whole lines of an entity file, as undecoded bytes, each ended by a line break but perhaps the last. */
function readLineBytes(input: Uint8Array, read: ReadChunk): void {
  const bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  for (let start = 0, item = 0; start < bytes.length; item++) {
    const lineBreak = bytes.indexOf(0x0a, start);
    const next = lineBreak < 0 ? bytes.length : lineBreak + 1;
    let end = lineBreak < 0 ? bytes.length : lineBreak;
    if (end > start && bytes[end - 1] === 0x0d) end--;
    // Lines laid out as JSON.stringify writes an entity (the generator's files) are read without being
    // parsed (entity-line-scan.ts); others are parsed.
    const scanned = scanIndexedFields(bytes, start, end);
    if (scanned) accept(read, item, scanned);
    else parseLineBytes(read, item, bytes.subarray(start, end));
    start = next;
  }
}

function parseLineBytes(read: ReadChunk, item: number, line: Buffer): void {
  const cut = unreadFieldsAt(line);
  if (cut < 0) {
    const text = line.toString('utf8');
    if (text.trim() !== '') acceptParsed(read, item, () => JSON.parse(text) as CertifiedEntityRecord);
  } else acceptParsed(read, item, () => parseCutLine(headWithBrace(line, cut), () => line.toString('utf8')));
}

/** Writes a chunk's entities, one at a time, as the typed arrays and packed bytes of a {@link PreparedChunk}. */
class PreparedChunkWriter {
  readonly #dictionary: WordDictionary;
  readonly #ceIds = new PackedKeyWriter();
  // Display names and texts are stored, never looked up: no hashes.
  readonly #displayNames = new PackedKeyWriter({ hashed: false });
  // Normalized tokens are ASCII letters and digits, so their UTF-8 is a byte per character, as the name
  // store keeps them.
  readonly #texts = new PackedKeyWriter({ hashed: false });
  readonly #wholeNames = new PackedKeyWriter();
  readonly #orderFreeNames = new PackedKeyWriter();
  readonly #identifiers = new PackedKeyWriter();
  readonly #items: Int32Array;
  readonly #countries: Uint16Array;
  readonly #recordsEnd: Uint32Array;
  readonly #identifiersEnd: Uint32Array;
  #entities = 0;
  readonly #legalForms: number[] = [];
  readonly #tokensEnd: number[] = [];
  readonly #recordWords: number[] = [];
  readonly #newWords: string[] = [];
  /** The current entity's names so far, as tokens, to skip a name that normalizes like an earlier one. */
  readonly #entityNames: string[][] = [];
  /** Where an identifier read as bytes is normalized. */
  #scratch = Buffer.allocUnsafe(128);

  constructor(entities: number, dictionary: WordDictionary) {
    this.#dictionary = dictionary;
    this.#items = new Int32Array(entities);
    this.#countries = new Uint16Array(entities);
    this.#recordsEnd = new Uint32Array(entities);
    this.#identifiersEnd = new Uint32Array(entities);
  }

  addEntity(item: number, fields: IndexedFields): void {
    const [ceId, legalName, englishName, tradingName, country] = fields;
    this.#ceIds.key(ceId);
    this.#displayNames.key(legalName);
    const e = this.#addNames(item, country, legalName, englishName, tradingName);
    for (let i = 0; i < identifierTypes.length; i++) {
      const value = fields[identifiersAt + i];
      if (typeof value === 'string') this.#addIdentifier(i, country, value);
    }
    this.#identifiersEnd[e] = this.#identifiers.size;
  }

  /**
   * {@link addEntity} of a line the scan read: the same chunk, with the ce_id, an ASCII display name and
   * ASCII identifiers copied or normalized from the line's bytes instead of decoded first.
   */
  addScanned(item: number, scanned: ScannedLine): void {
    const { line, country } = scanned;
    this.#ceIds.bytes(line, scanned.ceIdAt, scanned.ceIdAt + 27).end();
    if (scanned.nameIsAscii) this.#displayNames.bytes(line, scanned.nameAt, scanned.nameEnd).end();
    else this.#displayNames.key(scanned.name);
    const e = this.#addNames(item, country, scanned.name, scanned.englishName, scanned.tradingName);
    const ranges = scanned.identifiers;
    for (let i = 0; i < identifierTypes.length; i++) {
      const start = ranges[3 * i] as number;
      if (start < 0) continue;
      const end = ranges[3 * i + 1] as number;
      if (ranges[3 * i + 2] === 1) {
        if (this.#scratch.length < end - start) this.#scratch = Buffer.allocUnsafe(end - start);
        const length = normalizeAsciiIdentifier(line, start, end, country, this.#scratch);
        if (length >= 0)
          this.#identifiers.text(identifierKeyPrefix(i, country)).bytes(this.#scratch, 0, length).end();
      } else this.#addIdentifier(i, country, line.toString('utf8', start, end));
    }
    this.#identifiersEnd[e] = this.#identifiers.size;
  }

  /** Starts entity `item`'s entry and adds its name records; returns its index in the chunk. */
  #addNames(
    item: number,
    country: CountryIndex,
    legalName: string,
    englishName: string | null,
    tradingName: string | null,
  ): number {
    const e = this.#entities++;
    this.#items[e] = item;
    this.#countries[e] = country;
    const recordsStart = this.#legalForms.length;
    this.#entityNames.length = 0;
    this.#addName(legalName, country, recordsStart);
    if (englishName !== null) this.#addName(englishName, country, recordsStart);
    if (tradingName !== null) this.#addName(tradingName, country, recordsStart);
    this.#recordsEnd[e] = this.#legalForms.length;
    return e;
  }

  /** Writes an identifier's key, unless the value is no identifier. */
  #addIdentifier(type: number, country: CountryIndex, value: string): void {
    const normalized = normalizeIdentifier(value, country);
    if (normalized === undefined) return;
    // Written in parts: the same bytes as identifierKey(type, country, normalized), without making it.
    this.#identifiers.text(identifierKeyPrefix(type, country)).text(normalized).end();
  }

  /** A name record of the entity, unless the name normalizes to nothing or like an earlier name of it. */
  #addName(name: string, country: CountryIndex, recordsStart: number): void {
    if (name.trim() === '') return;
    const normalized = normalizeName(name, true);
    const tokens = normalized.tokens;
    if (tokens.length === 0) return;
    // An entity's names that normalize alike are one record (an English name equal to the legal name).
    if (isRepeatedName(this.#entityNames, this.#legalForms, recordsStart, tokens, normalized.legalForm))
      return;
    this.#entityNames.push(tokens);
    this.#legalForms.push(normalized.legalForm);
    // Each key is written from the tokens, as wholeNameKey and orderFreeKey would make it, without making
    // it as a string first. A one-word name has no other order: its order-free key is empty.
    this.#texts.words(tokens, space).end();
    this.#wholeNames.text(countryPrefix(country)).words(tokens, -1).end();
    if (tokens.length > 1)
      this.#orderFreeNames.text(countryPrefix(country)).words(sortedWords(tokens), space);
    this.#orderFreeNames.end();
    const recordWords = this.#recordWords;
    const recordTokensStart = recordWords.length;
    for (const token of tokens) {
      const word = this.#dictionary.idOf(token, this.#newWords);
      if (recordWords.indexOf(word, recordTokensStart) < 0) recordWords.push(word); // once per record
    }
    this.#tokensEnd.push(recordWords.length);
  }

  toChunk(problems: PreparedChunk['problems'], firstNewWord: number): PreparedChunk {
    const ceIdData = this.#ceIds.toData();
    const wholeNameData = this.#wholeNames.toData();
    const orderFreeData = this.#orderFreeNames.toData();
    const identifierData = this.#identifiers.toData();
    return {
      problems,
      items: this.#items,
      countries: this.#countries,
      ceIds: ceIdData.keys,
      ceIdHashes: ceIdData.hashes,
      displayNames: this.#displayNames.toData().keys,
      recordsEnd: this.#recordsEnd,
      identifiersEnd: this.#identifiersEnd,
      texts: this.#texts.toData().keys,
      legalForms: Uint16Array.from(this.#legalForms),
      wholeNames: wholeNameData.keys,
      wholeNameHashes: wholeNameData.hashes,
      orderFreeNames: orderFreeData.keys,
      orderFreeNameHashes: orderFreeData.hashes,
      tokensEnd: Uint32Array.from(this.#tokensEnd),
      recordWords: Uint32Array.from(this.#recordWords),
      dictionary: this.#dictionary.id,
      newWords: this.#newWords,
      firstNewWord,
      identifiers: identifierData.keys,
      identifierHashes: identifierData.hashes,
    };
  }
}

function isRepeatedName(
  entityNames: readonly (readonly string[])[],
  legalForms: readonly number[],
  entityRecordsStart: number,
  tokens: readonly string[],
  legalForm: number,
): boolean {
  for (let i = 0; i < entityNames.length; i++)
    if (legalForms[entityRecordsStart + i] === legalForm && sameWords(entityNames[i] as string[], tokens))
      return true;
  return false;
}

function sameWords(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const space = 0x20;

/** `type:country:` per identifier type (its index in {@link identifierTypes}) and country, made once. */
const identifierKeyPrefixes: string[][] = identifierTypes.map(() => []);
function identifierKeyPrefix(type: number, country: CountryIndex): string {
  const ofType = identifierKeyPrefixes[type] as string[];
  let prefix = ofType[country];
  if (prefix === undefined)
    ofType[country] = prefix = identifierKey(identifierTypes[type] as IdentifierType, country, '');
  return prefix;
}

/** `country:` per country, made once. */
const countryPrefixes: string[] = [];
function countryPrefix(country: CountryIndex): string {
  let prefix = countryPrefixes[country];
  if (prefix === undefined) countryPrefixes[country] = prefix = `${country}:`;
  return prefix;
}

/**
 * A sorted copy of a name's words, in the order of `Array.prototype.sort`: names have a few words, and an
 * insertion sort is several times faster on them than the general sort.
 */
function sortedWords(words: readonly string[]): string[] {
  const sorted = words.slice();
  for (let i = 1; i < sorted.length; i++) {
    const word = sorted[i] as string;
    let j = i - 1;
    for (; j >= 0 && (sorted[j] as string) > word; j--) sorted[j + 1] = sorted[j] as string;
    sorted[j + 1] = word;
  }
  return sorted;
}

/** `country:` + the compact name: the key of a name as written, whatever its case, marks and spacing. */
export function wholeNameKey(country: CountryIndex, tokens: readonly string[]): string {
  return `${country}:${compactKey(tokens)}`;
}

/** `country:` + tokens sorted and joined: the same for any order of the same words. */
export function orderFreeKey(country: CountryIndex, tokens: readonly string[]): string {
  return `${country}:${sortedWords(tokens).join(' ')}`;
}
