/**
 * Company-name normalization: the single place that decides which spellings of a name are the same.
 *
 * `Siemens Aktiengesellschaft`, `SIEMENS AG.` and `The Siemens A.G. (Germany)` all become the core tokens
 * `["siemens"]` with the legal form `AG`; `Müller`, `Muller` and `Mueller` all become `muller`;
 * `ООО Сибирские Технологии` becomes `["sibirskie", "tekhnologii"]` with the legal form `OOO`.
 * Distinguishing words survive: numerals (`Fund III` → `3`) and industry words are kept as tokens.
 */
import assert from 'node:assert/strict';
import anyAscii from 'any-ascii';
import { countryKey, resolveCountry, unknownCountry } from './countries.js';
import { type LegalFormFamily, legalFormTable, vocabularyTable } from './reference-tables.js';

/** A normalized company name. Tokens are lower-case ASCII `[a-z0-9]+`. */
export interface NormalizedName {
  /** The words that identify the company, in their original order, legal form and noise removed. */
  tokens: string[];
  /** Index into the legal-form table (see {@link legalFormCode}); 0 when the name carries none. */
  legalForm: number;
}

/**
 * Names longer than this are cut before normalization. The registry's longest legal names are about 250
 * characters; the cut keeps a hostile 10 kB name from costing more than a real one.
 */
export const nameLengthMax = 512;

/** More tokens than this are dropped: alignment is quadratic in tokens, and no real name needs more. */
export const nameTokensMax = 16;

interface LegalFormInfo {
  code: string;
  family: LegalFormFamily;
}

interface TrieNode {
  children: Map<string, TrieNode>;
  /** Legal-form index when a variant ends here. */
  formIndex: number;
  /** Whether that variant may stand before the name. */
  prefix: boolean;
}

interface CompiledTables {
  legalForms: LegalFormInfo[];
  /** Variants stored reversed, matched from the last token backwards. */
  suffixTrie: TrieNode;
  prefixTrie: TrieNode;
  canonical: Map<string, string>;
  /**
   * What becomes of a word in a name, for the words that change at all: a connector (dropped inside a
   * name) and the word it is written as (its canonical word, then a Roman numeral's number). One lookup a
   * word, where a connector set, the canonical words and the numerals took three.
   */
  tokenRules: Map<string, TokenRule>;
  noisePrefixes: string[][];
  industry: Set<string>;
  generic: Set<string>;
}

interface TokenRule {
  connector: boolean;
  /** The word as the name keeps it; undefined when it stays as written. */
  replacement: string | undefined;
}

let compiled: CompiledTables | undefined;

function newTrieNode(): TrieNode {
  return { children: new Map(), formIndex: 0, prefix: false };
}

function insertVariant(
  root: TrieNode,
  tokens: string[],
  formIndex: number,
  prefix: boolean,
  what: string,
): void {
  let node = root;
  for (const token of tokens) {
    let child = node.children.get(token);
    if (!child) {
      child = newTrieNode();
      node.children.set(token, child);
    }
    node = child;
  }
  // Two forms sharing a spelling would make the canonical code depend on table order: a table bug.
  assert.ok(
    node.formIndex === 0 || node.formIndex === formIndex,
    `legal-form variant "${what}" belongs to two forms`,
  );
  node.formIndex = formIndex;
  node.prefix ||= prefix;
}

const digraphs = /([aou])e/g;

/** German-style vowel digraphs fold to the plain vowel so that Mueller = Müller = Muller. */
export function foldDigraphs(token: string): string {
  // The replacement runs only on a word that has a digraph: most words have an e but no ae, oe or ue, and
  // the replacement was a tenth of normalizing a name.
  return token.length > 2 && hasDigraph(token) ? token.replace(digraphs, '$1') : token;
}

/** Whether a word has ae, oe or ue: one pass rather than three searches. */
function hasDigraph(token: string): boolean {
  for (let i = 1; i < token.length; i++) {
    if (token.charCodeAt(i) !== 0x65) continue; // e
    const before = token.charCodeAt(i - 1);
    if (before === 0x61 || before === 0x6f || before === 0x75) return true; // a, o, u
  }
  return false;
}

function compileTables(): CompiledTables {
  if (compiled) return compiled;
  const vocabulary = vocabularyTable();
  const legalForms: LegalFormInfo[] = [{ code: '', family: 'generic' }];
  const suffixTrie = newTrieNode();
  const prefixTrie = newTrieNode();
  for (const form of legalFormTable()) {
    legalForms.push({ code: form.code, family: form.family });
    const formIndex = legalForms.length - 1;
    for (const variant of form.variants) {
      const tokens = splitTokens(variant, true);
      if (tokens.length === 0) continue;
      insertVariant(suffixTrie, [...tokens].reverse(), formIndex, false, variant);
      insertVariant(prefixTrie, tokens, formIndex, form.prefix === true, variant);
    }
  }
  const foldAll = (words: string[]) => new Set(words.map((word) => foldDigraphs(word)));
  const noisePrefixes = vocabulary.noisePrefixes.map((words) => words.map(foldDigraphs));
  const canonical = new Map(
    Object.entries(vocabulary.canonical).map(([key, value]) => [foldDigraphs(key), foldDigraphs(value)]),
  );
  const connectors = new Set(vocabulary.connectors.map(foldDigraphs));
  const tokenRules = new Map<string, TokenRule>();
  for (const word of new Set([...connectors, ...canonical.keys(), ...romanNumerals.keys()])) {
    const written = canonical.get(word) ?? word;
    const replacement = romanNumerals.get(written) ?? written;
    tokenRules.set(word, {
      connector: connectors.has(word),
      replacement: replacement === word ? undefined : replacement,
    });
  }
  compiled = {
    legalForms,
    suffixTrie,
    prefixTrie,
    canonical,
    tokenRules,
    noisePrefixes,
    industry: foldAll(vocabulary.industry.map((word) => vocabulary.canonical[word] ?? word)),
    generic: foldAll(vocabulary.generic.map((word) => vocabulary.canonical[word] ?? word)),
  };
  return compiled;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we strip.
const controlCharacters = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202f\u2060-\u206f\ufeff]/g;
const printableAscii = /^[\x20-\x7e]*$/;

/**
 * @internal Exported for its property test.
 *
 * Any text as ASCII: compatibility-normalized (NFKC), control and invisible characters turned to spaces,
 * then transliterated by `any-ascii`.
 */
export function toAsciiSlowly(text: string): string {
  return anyAscii(text.normalize('NFKC').replace(controlCharacters, ' '));
}

/** Characters below this may be transliterated one at a time (Latin, Greek, Cyrillic). */
const characterTableEnd = 0x500;

/** Each character's ASCII, back to back: character c's is `bytes[starts[c] .. starts[c + 1])`. */
interface CharacterTable {
  bytes: Uint8Array;
  starts: Int32Array;
  /** Whether a character may be looked up (see {@link characterTable}). */
  safe: Uint8Array;
  /** The most bytes one character becomes. */
  longest: number;
}

let compiledCharacterTable: CharacterTable | undefined;

/**
 * {@link toAsciiSlowly} of each character below {@link characterTableEnd} on its own; not safe for a
 * character whose result could depend on its neighbours: a combining mark (NFKC composes it with the letter
 * before), or one whose normalization starts with a mark. For any other, NFKC and any-ascii both work a
 * character at a time, so a text of such characters is the concatenation of their results.
 */
function characterTable(): CharacterTable {
  if (compiledCharacterTable) return compiledCharacterTable;
  const startsWithMark = /^\p{M}/u;
  const pieces: string[] = [];
  const safe = new Uint8Array(characterTableEnd);
  for (let unit = 0; unit < characterTableEnd; unit++) {
    const character = String.fromCharCode(unit);
    safe[unit] = !startsWithMark.test(character) && !startsWithMark.test(character.normalize('NFKC')) ? 1 : 0;
    pieces.push(safe[unit] ? toAsciiSlowly(character) : '');
  }
  const bytes = Buffer.from(pieces.join(''), 'latin1');
  const starts = new Int32Array(characterTableEnd + 1);
  for (let unit = 0; unit < characterTableEnd; unit++)
    starts[unit + 1] = (starts[unit] as number) + (pieces[unit] as string).length;
  const longest = Math.max(...pieces.map((piece) => piece.length));
  compiledCharacterTable = { bytes, starts, safe, longest };
  return compiledCharacterTable;
}

let asciiScratch = Buffer.allocUnsafe(4096);

/**
 * @internal Exported for its property test.
 *
 * {@link toAsciiSlowly}, a character at a time from a table when every character is in it (the registry's
 * Latin names with diacritics, Greek and Cyrillic): normalizing, replacing and transliterating the whole text
 * cost a non-ASCII name three times an ASCII one. The result is assembled as bytes and decoded as Latin-1,
 * so that it is a one-byte string, as any-ascii's is: tokens cut from a two-byte string stay two-byte, and a
 * mix of both made V8's lookups on tokens megamorphic further on.
 */
export function toAscii(text: string): string {
  const { bytes, starts, safe, longest } = characterTable();
  if (asciiScratch.length < text.length * longest) asciiScratch = Buffer.allocUnsafe(text.length * longest);
  const scratch = asciiScratch;
  let at = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e) {
      scratch[at++] = unit; // printable ASCII is itself
      continue;
    }
    if (unit >= characterTableEnd || safe[unit] === 0) return toAsciiSlowly(text);
    for (let b = starts[unit] as number; b < (starts[unit + 1] as number); b++)
      scratch[at++] = bytes[b] as number;
  }
  return scratch.toString('latin1', 0, at);
}
const trailingParenthetical = /[([]([^()[\]]{1,60})[)\]]\s*$/;

/**
 * @internal Exported for its property test.
 *
 * Turns raw text into lower-case ASCII tokens: script transliterated, diacritics removed, `&` and `+` read as
 * "and", dots and apostrophes deleted (S.A. = SA, O'Neil = ONeil), every other mark a separator.
 *
 * @param foldingDigraphs - fold each token's vowel digraphs as {@link foldDigraphs} does. Done here, where
 *   the scan already sees each letter, rather than by a second pass over every token: tokens are strings of
 *   several representations (sliced, joined, copied), and a second look at each made V8's property lookups
 *   megamorphic (profiled: 3% of a build worker).
 */
export function splitTokens(text: string, foldingDigraphs = false): string[] {
  let ascii = text.length > nameLengthMax ? text.slice(0, nameLengthMax) : text;
  if (!printableAscii.test(ascii)) ascii = toAscii(ascii);
  // One pass over the lower-cased text rather than four regular-expression passes and a split (the same
  // tokens; a property test holds it to the regular expressions): names are split at every build and query.
  const lower = ascii.toLowerCase();
  const tokens: string[] = [];
  let pending = ''; // the token so far, when a deleted mark interrupted it
  let start = -1; // where the current run of letters and digits began, or -1
  let previous = 0; // the token's last letter or digit so far, 0 at its start
  let digraph = false; // whether the token so far has ae, oe or ue
  const flush = (end: number) => {
    const token = start < 0 ? pending : pending + lower.slice(start, end);
    if (token !== '') tokens.push(digraph && token.length > 2 ? token.replace(digraphs, '$1') : token);
    pending = '';
    start = -1;
    previous = 0;
    digraph = false;
  };
  for (let i = 0; i < lower.length; i++) {
    const code = lower.charCodeAt(i);
    if ((code >= 0x61 && code <= 0x7a) || (code >= 0x30 && code <= 0x39)) {
      if (start < 0) start = i;
      if (code === 0x65 && (previous === 0x61 || previous === 0x6f || previous === 0x75) && foldingDigraphs)
        digraph = true; // e after a, o or u
      previous = code;
    } else if (code === 0x2e || code === 0x27 || code === 0x60) {
      // . ' ` are deleted: S.A. = SA, O'Neil = ONeil.
      if (start >= 0) pending += lower.slice(start, i);
      start = -1;
    } else {
      flush(i);
      if (code === 0x26 || code === 0x2b) tokens.push('and'); // & and + read as "and"
    }
  }
  flush(lower.length);
  return tokens;
}

/** Longest legal-form variant at the end of `tokens`; returns [form index, tokens it spans]. */
function matchSuffix(root: TrieNode, tokens: string[]): [number, number] {
  let node: TrieNode | undefined = root;
  let best: [number, number] = [0, 0];
  for (let i = tokens.length - 1; i >= 0 && node; i--) {
    node = node.children.get(tokens[i] as string);
    if (node && node.formIndex !== 0) best = [node.formIndex, tokens.length - i];
  }
  return best;
}

/** Whether two words are at most one edit apart (insert, delete, substitute, or swap adjacent letters). */
export function withinOneEdit(a: string, b: string): boolean {
  if (a === b) return true;
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  // Compared in place, not by slicing: retrieval asks this of hundreds of words per query, and the slices
  // were a tenth of the bytes a request allocated.
  if (a.length === b.length) {
    if (sameFrom(a, i + 1, b, i + 1)) return true; // substitution
    return (
      a.charCodeAt(i) === b.charCodeAt(i + 1) &&
      a.charCodeAt(i + 1) === b.charCodeAt(i) &&
      sameFrom(a, i + 2, b, i + 2)
    ); // swap
  }
  return a.length > b.length ? sameFrom(a, i + 1, b, i) : sameFrom(a, i, b, i + 1);
}

/** Whether `a` from index `fromA` on equals `b` from `fromB` on. */
function sameFrom(a: string, fromA: number, b: string, fromB: number): boolean {
  if (a.length - fromA !== b.length - fromB) return false;
  for (let i = fromA, j = fromB; i < a.length; i++, j++)
    if (a.charCodeAt(i) !== b.charCodeAt(j)) return false;
  return true;
}

/** Words shorter than this are never matched with a typo, on either side: "so" one edit from "sro" is noise. */
const fuzzyLegalFormWordLengthMin = 3;

/**
 * Like {@link matchSuffix}, allowing one word of the legal form one edit off (Co., Ltwd. / Limiked / Cooperariva).
 * Used on queries only: registry names are clean, customers' spellings are not.
 */
function matchSuffixWithOneTypo(root: TrieNode, tokens: string[]): [number, number] {
  let best: [number, number] = [0, 0];
  // typo: 0 none yet, 1 a typo in a word of three letters or more, 2 in a two-letter word ("Co., Ld"), which
  // counts only inside a form of two words or more: alone, "So" one edit from "sro" is noise.
  const walk = (node: TrieNode, i: number, typo: 0 | 1 | 2) => {
    const span = tokens.length - 1 - i;
    if (node.formIndex !== 0 && typo !== 0 && (typo === 1 || span >= 2) && span > best[1])
      best = [node.formIndex, span];
    if (i < 0) return;
    const token = tokens[i] as string;
    const exact = node.children.get(token);
    if (exact) walk(exact, i - 1, typo);
    if (typo !== 0 || token.length < fuzzyLegalFormWordLengthMin - 1) return;
    for (const [word, child] of node.children) {
      if (word !== token && word.length >= fuzzyLegalFormWordLengthMin && withinOneEdit(word, token)) {
        walk(child, i - 1, token.length >= fuzzyLegalFormWordLengthMin ? 1 : 2);
      }
    }
  };
  walk(root, tokens.length - 1, 0);
  return best;
}

/** Longest prefix-capable legal-form variant at the start of `tokens`. */
function matchPrefix(root: TrieNode, tokens: string[]): [number, number] {
  let node: TrieNode | undefined = root;
  let best: [number, number] = [0, 0];
  for (let i = 0; i < tokens.length && node; i++) {
    node = node.children.get(tokens[i] as string);
    if (node && node.formIndex !== 0 && node.prefix) best = [node.formIndex, i + 1];
  }
  return best;
}

const romanNumerals = new Map<string, string>(
  [
    'ii',
    'iii',
    'iv',
    'v',
    'vi',
    'vii',
    'viii',
    'ix',
    'x',
    'xi',
    'xii',
    'xiii',
    'xiv',
    'xv',
    'xvi',
    'xvii',
    'xviii',
    'xix',
    'xx',
  ]
    .map((numeral, position) => [numeral, String(position + 2)] as [string, string])
    .filter(([numeral]) => numeral.length > 1),
);

/** Drops a trailing "(UK)", "[Germany]" or "(Deutschland)": a country qualifier, not part of the name. */
function dropCountryQualifier(text: string): string {
  const match = trailingParenthetical.exec(text);
  if (!match || match.index === 0) return text;
  const inside = match[1] as string;
  return countryKey(inside) !== '' && resolveCountry(inside) !== unknownCountry
    ? text.slice(0, match.index)
    : text;
}

function stripNoisePrefix(tokens: string[], noisePrefixes: string[][]): string[] {
  for (const noise of noisePrefixes) {
    if (tokens.length > noise.length && noise.every((word, i) => tokens[i] === word)) {
      return tokens.slice(noise.length);
    }
  }
  return tokens;
}

/**
 * Normalizes a company name.
 *
 * @param keepLegalFormOnly - when the name is nothing but a legal form ("Company Limited"), return those words
 *   as tokens instead of an empty name. Registry entries use this; queries leave it off so that a name that is
 *   only a legal form is rejected as having no distinctive words.
 *
 * @example
 * normalizeName('Siemens Aktiengesellschaft') // { tokens: ['siemens'], legalForm: legalFormIndex('AG') }
 */
export function normalizeName(name: string, keepLegalFormOnly = false): NormalizedName {
  const tables = compileTables();
  // Digraphs fold first, so that legal forms written with expanded umlauts (OUe = OÜ) are recognised too.
  let tokens = splitTokens(dropCountryQualifier(name), true);
  const allTokens = tokens;
  let legalForm = 0;
  let [suffixForm, suffixLength] = matchSuffix(tables.suffixTrie, tokens);
  if (suffixForm === 0 && !keepLegalFormOnly && tokens.length > 1) {
    [suffixForm, suffixLength] = matchSuffixWithOneTypo(tables.suffixTrie, tokens);
    // Which form a misspelt one meant is a guess: strip it, but claim no legal form for the query.
    if (suffixForm !== 0 && suffixLength < tokens.length) {
      tokens = tokens.slice(0, tokens.length - suffixLength);
      suffixForm = 0;
      suffixLength = 0;
    }
  }
  if (suffixForm !== 0) {
    legalForm = suffixForm;
    tokens = tokens.slice(0, tokens.length - suffixLength);
  }
  const [prefixForm, prefixLength] = matchPrefix(tables.prefixTrie, tokens);
  if (prefixForm !== 0 && prefixLength < tokens.length + (keepLegalFormOnly ? 0 : 1)) {
    // "PT Astra Tbk": the suffix (public company) is the more specific form, but both are legal words.
    if (legalForm === 0) legalForm = prefixForm;
    tokens = tokens.slice(prefixLength);
  }
  if (tokens.length === 0 && keepLegalFormOnly) {
    tokens = allTokens;
    legalForm = 0;
  }
  tokens = stripNoisePrefix(tokens, tables.noisePrefixes);
  const core: string[] = [];
  for (let i = 0; i < tokens.length && core.length < nameTokensMax; i++) {
    const raw = tokens[i] as string;
    if (raw === 'and' && tokens.length > 1) continue; // "and" folds to itself
    const rule = tables.tokenRules.get(raw);
    if (rule === undefined) core.push(raw);
    else if (!(rule.connector && i > 0 && i < tokens.length - 1)) core.push(rule.replacement ?? raw);
  }
  return { tokens: core, legalForm };
}

/** The canonical business word a word folds to (`systems` → `system`), or undefined when it has none. */
export function canonicalWord(token: string): string | undefined {
  return compileTables().canonical.get(token);
}

/** Canonical words of every spelling one edit away from `token` (Sysems → system, Phamra → pharmaceutical). */
export function canonicalWordsWithinOneEdit(token: string): string[] {
  const found: string[] = [];
  // forEach, not for-of: iterating entries makes an array per spelling, for every unknown query word.
  compileTables().canonical.forEach((canonical, spelling) => {
    if (spelling !== token && withinOneEdit(spelling, token) && !found.includes(canonical))
      found.push(canonical);
  });
  return found;
}

/** The canonical code (`GMBH`, `LTD`, ...) of a legal-form index; `''` for none. */
export function legalFormCode(legalForm: number): string {
  return compileTables().legalForms[legalForm]?.code ?? '';
}

/** The index of a canonical legal-form code, or 0 when the code is unknown. */
export function legalFormIndex(code: string): number {
  const index = compileTables().legalForms.findIndex((form) => form.code === code);
  return Math.max(index, 0);
}

export function legalFormFamily(legalForm: number): LegalFormFamily {
  return compileTables().legalForms[legalForm]?.family ?? 'generic';
}

/** Whether a token names an industry (Gas, Steel, Software): a mismatch there means another company. */
export function isIndustryWord(token: string): boolean {
  return compileTables().industry.has(token);
}

/** Whether a token is so common in company names that it identifies little (Group, Services, Holding). */
export function isGenericWord(token: string): boolean {
  return compileTables().generic.has(token);
}

/** The compact key of a name: its tokens without separators, so that Coca-Cola = CocaCola = Coca Cola. */
export function compactKey(tokens: readonly string[]): string {
  return tokens.join('');
}

/** Forces the tables to compile now (at start-up) rather than on the first query. */
export function warmUpNormalizer(): void {
  compileTables();
}
