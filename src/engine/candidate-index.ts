/**
 * Candidate retrieval: which name records are worth scoring for a query.
 *
 * One FlexSearch `Index` per country (strict tokenizer, exact charset: names arrive already normalized)
 * holds each record's core tokens; an exact hash table holds each record's whole-name key (country and
 * compact name). Tiers, cheapest first:
 * 1. whole-name key: the records whose normalized name equals the query's (exact, case, punctuation,
 *    legal-form and diacritic variants; also single common words such as "Engineering Ltd");
 * 2. all tokens: an AND query over the core tokens (reordered names, extra words on the record's side);
 * 3. rare tokens: each token's posting list when shorter than `postingsMax`, weighted by IDF;
 * 4. typo tier, only for tokens absent from the vocabulary: every edit-distance-1 variant present in the
 *    vocabulary (≈ 600 map probes, no extra memory) and words sharing a consonant skeleton (transliteration
 *    variants such as sibirskiye / sibirskie, tekhnologii / technologii).
 * The best `candidatesMax` records by accumulated weight are returned.
 *
 * @internal
 */
import FlexSearch from 'flexsearch';
import { orderFreeKey, type PreparedChunk, rangeOf, wholeNameKey } from './index-chunk.js';
import type { SnapshotReader, SnapshotWriter } from './index-snapshot.js';
import { canonicalWordsWithinOneEdit, foldDigraphs, withinOneEdit } from './normalize.js';
import { sharedInt32Array } from './shared-arrays.js';
import { StringHashIndex } from './string-hash-index.js';

const { Index, Charset } = FlexSearch;
type FlexIndex = InstanceType<typeof Index>;

export interface CandidateIndexOptions {
  /** How many records go to scoring per query. */
  candidatesMax: number;
  /** Posting lists longer than this belong to common words and are not walked one by one. */
  postingsMax: number;
}

export const defaultCandidateIndexOptions: CandidateIndexOptions = { candidatesMax: 24, postingsMax: 400 };

/**
 * When the whole name matched, the answer is among those records; a few more are scored so that a sibling
 * can still rank second (match-companies) and twins (GmbH / AG) are seen together. Measured at 100k
 * entities: a realistic mix scores ~60% fewer pairs.
 */
const extraCandidatesAfterWholeName = 6;

/** A whole-name hit outranks any token evidence (IDF weights stay well below this). */
const wholeNameWeight = 1_000;
const correctedTokenFactor = 0.7;
/** A whole-name hit after correcting a word, or with the words in another order, is strong but not certain. */
const correctedNameWeight = 600;
const reorderedNameFactor = 0.9;
const allTokensLimit = 64;
const skeletonWordsMax = 16;
/**
 * Words shorter than this stay out of the deletion index: their deletions (1–2 letters) are shared by
 * thousands of words, which would make each lookup, and building the index, quadratic.
 */
const deletionIndexWordLengthMin = 4;
/** Whole-name retries per unknown word; a short word can have dozens of one-edit neighbours. */
const wholeNameCorrectionsMax = 24;

/**
 * A consonant skeleton for transliteration variants: vowels and y dropped, common digraphs folded, doubled
 * letters collapsed. `tekhnologii`, `technologii` and `tehnologii` share `tcnlg`.
 */
export function consonantSkeleton(token: string): string {
  const folded = token
    .replace(/ph/g, 'f')
    .replace(/kh|ch|h/g, 'c')
    .replace(/ts|tz|z/g, 's')
    .replace(/k|q/g, 'c')
    .replace(/w|b/g, 'v')
    // Greek αυ/ευ are written av, af, ay or au: the consonant after a vowel is not reliable.
    .replace(/([aeiouy])[fv]/g, '$1')
    // j is a vowel glide in Slavic romanizations (Baltijskaja = Baltiiskaia).
    .replace(/[aeiouyj]/g, '')
    .replace(/(.)\1+/g, '$1');
  return folded.length >= 3 ? folded : '';
}

/**
 * Collects name records for a {@link CandidateIndex}. Records arrive prepared (`index-chunk.ts`): the
 * builder interns their tokens and appends each record to its country's posting lists, and links the
 * prepared whole-name keys; a word's deletions and consonant skeleton are added when it is first met.
 * FlexSearch's tables are made once, from the posting lists, in {@link CandidateIndexBuilder.build}.
 */
export class CandidateIndexBuilder {
  /** Every distinct word, by id; ids follow first appearance. */
  readonly #wordIds = new Map<string, number>();
  readonly #words: string[] = [];
  /** How many records each country has, by country index. */
  readonly #recordCounts: number[] = [];
  /** Countries in order of first use. */
  readonly #countries: number[] = [];
  /** Each word's posting list per country, records in the order added. */
  readonly #postings = new PostingLists();
  /** Per preparing thread's dictionary: its words, and their word ids here (-1 until first used). */
  readonly #translations = new Map<string, Translation>();
  readonly #wholeNames = new StringHashIndex();
  readonly #orderFreeNames = new StringHashIndex();
  /** Each word's one-letter deletions (words of 4 letters or more), to find one-edit typos. */
  readonly #deletions = new StringHashIndex();
  /** Words by consonant skeleton, in word id order. */
  readonly #skeletons = new Map<string, string[]>();

  /**
   * Learns the words a chunk's dictionary met first in it. Call as each chunk arrives from where it was
   * prepared, before adding records of it or of any chunk prepared after it by the same dictionary.
   */
  learnWords(chunk: PreparedChunk): void {
    let translation = this.#translations.get(chunk.dictionary);
    if (!translation) {
      translation = { words: [], wordIds: sharedInt32Array(1024).fill(-1) };
      this.#translations.set(chunk.dictionary, translation);
    }
    for (let i = 0; i < chunk.newWords.length; i++)
      translation.words[chunk.firstNewWord + i] = chunk.newWords[i] as string;
    if (translation.words.length > translation.wordIds.length) {
      const grown = sharedInt32Array(translation.words.length * 2).fill(-1);
      grown.set(translation.wordIds);
      translation.wordIds = grown;
    }
  }

  /**
   * Gives a word met for the first time its id, and adds it to the per-word tables as it comes rather than
   * in {@link build}: a parallel build's linking thread waits on its workers part of the time, and this work
   * fills that wait instead of adding to the end of the build.
   */
  #addWord(word: string): number {
    const wordId = this.#words.push(word) - 1;
    this.#wordIds.set(word, wordId);
    if (word.length >= deletionIndexWordLengthMin) {
      // Appended, and linked once at the end: a chain walk per deletion in a table of millions was most of
      // adding a word. The pairs are new as `add` requires: the word id is, and within a word only deleting
      // a letter of a run ("ll") repeats a deletion, which is skipped as `add` would skip it.
      for (let d = 0; d < word.length; d++) {
        if (d > 0 && word.charCodeAt(d) === word.charCodeAt(d - 1)) continue;
        this.#deletions.appendWithout(word, d, wordId);
      }
    }
    const skeleton = consonantSkeleton(word);
    if (skeleton !== '') {
      const same = this.#skeletons.get(skeleton);
      if (same) same.push(word);
      else this.#skeletons.set(skeleton, [word]);
    }
    return wordId;
  }

  /**
   * Indexes the name records of entities `first` to `end` (exclusive) of a chunk whose words were learnt:
   * the chunk's records from the first of entity `first` on become records `firstRecord` on, in order.
   */
  addRecords(chunk: PreparedChunk, first: number, end: number, firstRecord: number): void {
    const translation = this.#translations.get(chunk.dictionary) as Translation;
    const recordsStart = rangeOf(chunk.recordsEnd, first)[0];
    const recordsEnd = chunk.recordsEnd[end - 1] as number;
    for (let e = first, at = recordsStart; e < end; e++) {
      const country = chunk.countries[e] as number;
      for (const entityEnd = chunk.recordsEnd[e] as number; at < entityEnd; at++)
        this.#addRecordWords(firstRecord + at - recordsStart, country, chunk, at, translation);
    }
    // The keys are appended, not added: each record is new, so no pair can be there already.
    const records = new Int32Array(recordsEnd - recordsStart);
    for (let i = 0; i < records.length; i++) records[i] = firstRecord + i;
    this.#wholeNames.appendRangeFrom(
      chunk.wholeNames,
      recordsStart,
      recordsEnd,
      chunk.wholeNameHashes,
      records,
    );
    // A one-word name has no order-free key: its key in the chunk is empty.
    this.#orderFreeNames.appendRangeFrom(
      chunk.orderFreeNames,
      recordsStart,
      recordsEnd,
      chunk.orderFreeNameHashes,
      records,
      true,
    );
  }

  /** Counts record `record` in its country and appends it to its words' posting lists (record `at` of a chunk). */
  #addRecordWords(
    record: number,
    country: number,
    chunk: PreparedChunk,
    at: number,
    translation: Translation,
  ): void {
    const recordCount = this.#recordCounts[country];
    if (recordCount === undefined) {
      this.#recordCounts[country] = 1;
      this.#countries.push(country);
    } else this.#recordCounts[country] = recordCount + 1;
    const [first, end] = rangeOf(chunk.tokensEnd, at);
    for (let t = first; t < end; t++) {
      const dictionaryWord = chunk.recordWords[t] as number;
      let wordId = translation.wordIds[dictionaryWord] as number;
      if (wordId < 0) {
        const word = translation.words[dictionaryWord] as string;
        wordId = this.#wordIds.get(word) ?? -1;
        if (wordId < 0) wordId = this.#addWord(word);
        translation.wordIds[dictionaryWord] = wordId;
      }
      this.#postings.append(wordId, record, country);
    }
  }

  /**
   * Makes room for the records' exact keys to grow `factor` times, and buckets for `expectedFactor` times,
   * as `StringHashIndex.reserveScaled`. Not the deletions: they grow with the vocabulary, which grows ever
   * more slowly.
   */
  reserveScaled(factor: number, expectedFactor: number): void {
    this.#wholeNames.reserveScaled(factor, expectedFactor);
    this.#orderFreeNames.reserveScaled(factor, expectedFactor);
  }

  build(options: CandidateIndexOptions = defaultCandidateIndexOptions): CandidateIndex {
    const words = this.#words;
    // By country index, as the records are.
    const termsOf: [string, number[][]][][] = [];
    const frequenciesOf: Map<string, number>[] = [];
    for (const country of this.#countries) {
      termsOf[country] = [];
      frequenciesOf[country] = new Map();
    }
    // Each word's postings, in record order, split by country: the country's posting list of that word.
    this.#postings.forEachList((wordId, country, list) => {
      const word = words[wordId] as string;
      (termsOf[country] as [string, number[][]][]).push([word, [list]]);
      (frequenciesOf[country] as Map<string, number>).set(word, list.length);
    });
    const countries: CountryTables[] = [];
    for (const country of this.#countries) {
      // FlexSearch's own import: per term, its ids by resolution slot (one slot here). Posting lists are
      // ascending because records are added in id order, as `add` keeps them. Its register of ids ('reg') is
      // left empty: only add, update, remove and contain read it, and the index is only searched (a register
      // of a million ids cost ~0.1 s at the end of the build, ~35 MB, and its share of every snapshot).
      const index = newCountryIndex();
      importTable(index, 'map', termsOf[country] as unknown[]);
      countries.push({
        country,
        index,
        frequencies: frequenciesOf[country] as Map<string, number>,
        records: this.#recordCounts[country] as number,
      });
    }
    // Linked here, so that "built" means ready: the first query would otherwise link millions of entries.
    for (const table of [this.#deletions, this.#wholeNames, this.#orderFreeNames]) table.link();
    return CandidateIndex.assemble(options, {
      words,
      vocabulary: this.#wordIds,
      countries,
      deletions: this.#deletions,
      wholeNames: this.#wholeNames,
      orderFreeNames: this.#orderFreeNames,
      skeletons: this.#skeletons,
    });
  }
}

/** A dictionary's words by its ids, and each one's word id in the index (-1 until first used). */
interface Translation {
  words: string[];
  wordIds: Int32Array;
}

/** Postings gathered before they are added to their lists, so that lists are visited word by word. */
const postingBatch = 1 << 17;

/**
 * Posting lists per word and country. Postings arrive in record order, each for any word: appending each to
 * its list took three cache misses a posting on the linking thread (profiled at 1M entities: a fifth of its
 * time), and sorting them all once the build ended left the other core idle for half a second. So they are
 * gathered in a batch, sorted by word (stable: records stay in order), and added a word at a time: a word's
 * lists are looked up once per batch, not once per posting.
 */
class PostingLists {
  readonly #batchWords = new Int32Array(postingBatch);
  readonly #batchRecords = new Int32Array(postingBatch);
  readonly #batchCountries = new Uint16Array(postingBatch);
  #batchCount = 0;
  /** Per word id: the countries it has postings in, in order of first posting, and each one's list. */
  readonly #countriesOfWord: (number[] | undefined)[] = [];
  readonly #listsOfWord: (number[][] | undefined)[] = [];

  append(wordId: number, record: number, country: number): void {
    const at = this.#batchCount;
    this.#batchWords[at] = wordId;
    this.#batchRecords[at] = record;
    this.#batchCountries[at] = country;
    if (++this.#batchCount === postingBatch) this.#flush();
  }

  /**
   * Calls `each` once per (word, country) pair with postings, words in id order and, within a word,
   * countries in order of first posting; each list holds the records in the order they were appended.
   */
  forEachList(each: (wordId: number, country: number, list: number[]) => void): void {
    this.#flush();
    for (let w = 0; w < this.#countriesOfWord.length; w++) {
      const countries = this.#countriesOfWord[w];
      if (!countries) continue;
      const lists = this.#listsOfWord[w] as number[][];
      for (let i = 0; i < countries.length; i++) each(w, countries[i] as number, lists[i] as number[]);
    }
  }

  /**
   * Adds the batch to the lists: a stable counting sort by word, then one pass, a word at a time. (In
   * separate functions because V8 compiles each loop of the first batch as it gets hot, and code after a
   * compiled loop had not run yet: as one function, it was compiled eleven times.)
   */
  #flush(): void {
    const count = this.#batchCount;
    if (count === 0) return;
    const { starts, order } = stableOrderByWord(this.#batchWords, count);
    this.#appendInOrder(starts, order);
    this.#batchCount = 0;
  }

  /** Appends the batch's postings, `order`ed by word, word `w`'s from `starts[w]` to `starts[w + 1]`. */
  #appendInOrder(starts: Int32Array, order: Int32Array): void {
    const listOfCountry: (number[] | undefined)[] = [];
    const used: number[] = [];
    for (let w = 0; w + 1 < starts.length; w++) {
      for (let at = starts[w] as number; at < (starts[w + 1] as number); at++) {
        const posting = order[at] as number;
        const country = this.#batchCountries[posting] as number;
        let list = listOfCountry[country];
        if (!list) {
          listOfCountry[country] = list = this.#listOf(w, country);
          used.push(country);
        }
        list.push(this.#batchRecords[posting] as number);
      }
      for (const country of used) listOfCountry[country] = undefined;
      used.length = 0;
    }
  }

  /** The list of a word in a country, made empty when new. */
  #listOf(wordId: number, country: number): number[] {
    let countries = this.#countriesOfWord[wordId];
    let lists = this.#listsOfWord[wordId];
    if (!countries || !lists) {
      this.#countriesOfWord[wordId] = countries = [];
      this.#listsOfWord[wordId] = lists = [];
    }
    const at = countries.indexOf(country);
    if (at >= 0) return lists[at] as number[];
    const list: number[] = [];
    countries.push(country);
    lists.push(list);
    return list;
  }
}

/**
 * A stable counting sort of the first `count` words: `order` lists their positions, word by word, and word
 * `w`'s positions are `order[starts[w]]` to `order[starts[w + 1] - 1]`.
 */
function stableOrderByWord(words: Int32Array, count: number): { starts: Int32Array; order: Int32Array } {
  let wordEnd = 0;
  for (let i = 0; i < count; i++) wordEnd = Math.max(wordEnd, (words[i] as number) + 1);
  const starts = new Int32Array(wordEnd + 1);
  for (let i = 0; i < count; i++) (starts[(words[i] as number) + 1] as number)++;
  for (let w = 0; w < wordEnd; w++) starts[w + 1] = (starts[w + 1] as number) + (starts[w] as number);
  const next = starts.slice(0, wordEnd);
  const order = new Int32Array(count);
  for (let i = 0; i < count; i++) order[(next[words[i] as number] as number)++] = i;
  return { starts, order };
}

interface CountryTables {
  country: number;
  index: FlexIndex;
  frequencies: Map<string, number>;
  records: number;
}

/** What a built candidate index consists of. */
interface CandidateIndexParts {
  words: string[];
  vocabulary: { has(word: string): boolean };
  countries: CountryTables[];
  deletions: StringHashIndex;
  wholeNames: StringHashIndex;
  orderFreeNames: StringHashIndex;
  skeletons: Map<string, string[]>;
}

export class CandidateIndex {
  readonly #byCountry = new Map<number, FlexIndex>();
  readonly #recordsByCountry = new Map<number, number>();
  #vocabulary: { has(word: string): boolean } = new Set<string>();
  /** Every distinct word once, in the order first seen; ids into it are the deletion index's values. */
  #words: string[] = [];
  /**
   * Symmetric-delete index (SymSpell, distance 1): each word under each of its one-letter deletions. A word
   * one edit from a query word shares a deletion with it, so ~2L lookups find every candidate where probing
   * every one-edit spelling took ~53L (measured: the typo tier was a third of query time at 1M entities).
   */
  #deletions = new StringHashIndex();
  /**
   * Records holding each token, per country. Knowing the count before searching lets a common word be skipped
   * without materializing its posting list, and gives exact IDF weights.
   */
  readonly #documentFrequency = new Map<number, Map<string, number>>();
  /**
   * Whole-name keys (`country:compact name`) → records. Unique per record, so kept out of FlexSearch, whose
   * cost is per distinct term: measured, it added a quarter to the build.
   */
  #wholeNames = new StringHashIndex();
  /** Order-free keys (`country:` + tokens sorted and joined) → records, for reordered names. */
  #orderFreeNames = new StringHashIndex();
  #skeletons = new Map<string, string[]>();
  readonly #options: CandidateIndexOptions;

  private constructor(options: CandidateIndexOptions) {
    this.#options = options;
  }

  /** @internal The builder's result. */
  static assemble(options: CandidateIndexOptions, parts: CandidateIndexParts): CandidateIndex {
    const index = new CandidateIndex(options);
    index.#words = parts.words;
    index.#vocabulary = parts.vocabulary;
    for (const { country, index: flex, frequencies, records } of parts.countries) {
      index.#byCountry.set(country, flex);
      index.#documentFrequency.set(country, frequencies);
      index.#recordsByCountry.set(country, records);
    }
    index.#deletions = parts.deletions;
    index.#wholeNames = parts.wholeNames;
    index.#orderFreeNames = parts.orderFreeNames;
    index.#skeletons = parts.skeletons;
    return index;
  }

  get vocabularySize(): number {
    return this.#words.length;
  }

  /**
   * Writes the index into a snapshot. FlexSearch's part goes through its own export (JSON chunks); the rest
   * is typed arrays and word lists keyed by word id.
   */
  saveTo(snapshot: SnapshotWriter, name: string): void {
    const wordIds = new Map(this.#words.map((word, id) => [word, id]));
    snapshot.text(`${name}.words`, this.#words.join('\n'));
    const countries: { country: number; records: number; flexKeys: string[] }[] = [];
    for (const [country, index] of this.#byCountry) {
      const flexKeys: string[] = [];
      index.export((key, data) => {
        snapshot.text(`${name}.flex.${country}.${flexKeys.length}`, data);
        flexKeys.push(key);
      });
      const frequencies = this.#documentFrequency.get(country) ?? new Map<string, number>();
      const pairs = new Int32Array(frequencies.size * 2);
      let at = 0;
      for (const [word, frequency] of frequencies) {
        pairs[at++] = wordIds.get(word) as number;
        pairs[at++] = frequency;
      }
      snapshot.bytes(`${name}.frequencies.${country}`, pairs);
      countries.push({ country, records: this.#recordsByCountry.get(country) ?? 0, flexKeys });
    }
    snapshot.meta[name] = { countries };
    this.#deletions.saveTo(snapshot, `${name}.deletions`);
    this.#wholeNames.saveTo(snapshot, `${name}.wholeNames`);
    this.#orderFreeNames.saveTo(snapshot, `${name}.orderFreeNames`);
    const skeletonLines: string[] = [];
    for (const [skeleton, words] of this.#skeletons) skeletonLines.push(`${skeleton} ${words.join(' ')}`);
    snapshot.text(`${name}.skeletons`, skeletonLines.join('\n'));
  }

  static loadFrom(
    snapshot: SnapshotReader,
    name: string,
    options: CandidateIndexOptions = defaultCandidateIndexOptions,
  ): CandidateIndex {
    const loaded = new CandidateIndex(options);
    const wordsText = snapshot.text(`${name}.words`);
    loaded.#words = wordsText === '' ? [] : wordsText.split('\n');
    loaded.#vocabulary = new Set(loaded.#words);
    const { countries } = snapshot.meta[name] as {
      countries: { country: number; records: number; flexKeys: string[] }[];
    };
    for (const { country, records, flexKeys } of countries) {
      const index = newCountryIndex();
      flexKeys.forEach((key, i) => {
        index.import(key, snapshot.text(`${name}.flex.${country}.${i}`));
      });
      loaded.#byCountry.set(country, index);
      loaded.#recordsByCountry.set(country, records);
      const pairs = snapshot.array(`${name}.frequencies.${country}`, Int32Array);
      const frequencies = new Map<string, number>();
      for (let at = 0; at < pairs.length; at += 2)
        frequencies.set(loaded.#words[pairs[at] as number] as string, pairs[at + 1] as number);
      loaded.#documentFrequency.set(country, frequencies);
    }
    loaded.#deletions = StringHashIndex.loadFrom(snapshot, `${name}.deletions`);
    loaded.#wholeNames = StringHashIndex.loadFrom(snapshot, `${name}.wholeNames`);
    loaded.#orderFreeNames = StringHashIndex.loadFrom(snapshot, `${name}.orderFreeNames`);
    const skeletonsText = snapshot.text(`${name}.skeletons`);
    if (skeletonsText !== '') {
      for (const line of skeletonsText.split('\n')) {
        const [skeleton, ...words] = line.split(' ');
        loaded.#skeletons.set(skeleton as string, words);
      }
    }
    return loaded;
  }

  /** Candidate name records for a query in one country, best evidence first. */
  candidates(country: number, tokens: readonly string[]): number[] {
    const index = this.#byCountry.get(country);
    if (!index || tokens.length === 0) return [];
    const countryRecords = this.#recordsByCountry.get(country) ?? 1;
    const idf = (frequency: number) => Math.log(1 + countryRecords / frequency);
    const weights = new Map<number, number>();
    const credit = (records: readonly number[], weight: number) => {
      for (const record of records) weights.set(record, (weights.get(record) ?? 0) + weight);
    };
    let nameHits = this.#creditWholeName(country, tokens, wholeNameWeight, credit);
    const common: string[] = [];
    let rareTokens = 0;
    const creditWord = (token: string, factor: number) => {
      const frequency = this.#frequency(country, token);
      if (frequency > this.#options.postingsMax) common.push(token);
      else if (frequency > 0) {
        rareTokens++;
        credit(index.search(token, { limit: frequency }) as number[], factor * idf(frequency));
      }
    };
    const unknown = [...new Set(tokens)].filter((token) => {
      if (this.#frequency(country, token) === 0) return true;
      creditWord(token, 1);
      return false;
    });
    if (nameHits === 0 && unknown.length > 0) {
      // Words this country's registry has never seen: most likely typos or another transliteration.
      const best = new Map<string, string>();
      for (const token of unknown) {
        const corrections = this.#corrections(country, token);
        for (const word of corrections) creditWord(word, correctedTokenFactor);
        if (corrections[0] !== undefined) best.set(token, corrections[0]);
        if (unknown.length === 1) {
          // The name without the stray word ("Gas Cmo Ltd"), or with each correction in its place.
          const without = tokens.filter((t) => t !== token);
          if (without.length > 0)
            nameHits += this.#creditWholeName(country, without, correctedNameWeight, credit);
          for (const correction of corrections.slice(0, wholeNameCorrectionsMax)) {
            const corrected = tokens.map((t) => (t === token ? correction : t));
            nameHits += this.#creditWholeName(country, corrected, correctedNameWeight, credit);
          }
        }
      }
      const corrected = tokens.map((token) => best.get(token) ?? token);
      if (unknown.length > 1)
        nameHits += this.#creditWholeName(country, corrected, correctedNameWeight, credit);
      // Only common words: their intersection is the evidence, worth what walking their postings would give.
      // (A rare word's postings already hold every record that has all the words, so that case skips it.)
      if (rareTokens === 0) this.#creditIntersection(index, country, corrected, idf, credit);
    } else if (nameHits === 0 && rareTokens === 0) {
      this.#creditIntersection(index, country, tokens, idf, credit);
    }
    let take = this.#options.candidatesMax;
    if (nameHits > 0) take = Math.min(take, nameHits + extraCandidatesAfterWholeName);
    return topByWeight(weights, take);
  }

  /** Credits the records whose whole name, or whose words in any order, equal the tokens; returns how many. */
  #creditWholeName(
    country: number,
    tokens: readonly string[],
    weight: number,
    credit: (records: readonly number[], weight: number) => void,
  ): number {
    const exact = this.#wholeName(country, tokens);
    credit(exact, weight);
    if (tokens.length < 2) return exact.length;
    const reordered = this.#orderFreeNames
      .get(orderFreeKey(country, tokens))
      .filter((r) => !exact.includes(r));
    credit(reordered, weight * reorderedNameFactor);
    return exact.length + reordered.length;
  }

  #creditIntersection(
    index: FlexIndex,
    country: number,
    tokens: readonly string[],
    idf: (frequency: number) => number,
    credit: (records: readonly number[], weight: number) => void,
  ): void {
    const known = [...new Set(tokens)].filter((token) => this.#frequency(country, token) > 0);
    if (known.length < 2) return;
    const evidence = known.reduce((sum, token) => sum + idf(this.#frequency(country, token)), 0);
    // Each word's posting list as FlexSearch holds it (a one-word search with a limit at least its length
    // returns the list itself, no copy), intersected here: FlexSearch's multi-word search counts every id of
    // every list in an object, ~5 ms for two words of 50k records each, a fifth of the server's CPU at load.
    const postings = known
      .map((token) => index.search(token, { limit: this.#frequency(country, token) }) as number[])
      .sort((a, b) => a.length - b.length);
    credit(intersectAscending(postings, allTokensLimit), evidence);
  }

  #wholeName(country: number, tokens: readonly string[]): number[] {
    return this.#wholeNames.get(wholeNameKey(country, tokens));
  }

  #frequency(country: number, token: string): number {
    return this.#documentFrequency.get(country)?.get(token) ?? 0;
  }

  /**
   * Words of this country's registry one edit away from a word it has never seen, or sharing its consonant
   * skeleton; best first: one-edit words before skeleton words, then the more frequent first.
   */
  #corrections(country: number, token: string): string[] {
    const edits = new Set<string>();
    const considerWords = (ids: readonly number[]) => {
      for (const id of ids) {
        const word = this.#words[id] as string;
        if (withinOneEdit(word, token)) edits.add(word);
      }
    };
    // The query word lacks a letter: it is one of a word's deletions.
    if (token.length + 1 >= deletionIndexWordLengthMin) considerWords(this.#deletions.get(token));
    for (let d = 0; d < token.length; d++) {
      const deletion = token.slice(0, d) + token.slice(d + 1);
      // The query word has an extra letter: its deletion is a word (folded as the index folds: daewon = dawon).
      const folded =
        deletion.includes('ae') || deletion.includes('oe') || deletion.includes('ue')
          ? foldDigraphs(deletion)
          : deletion;
      if (this.#vocabulary.has(folded)) edits.add(folded);
      // A substituted or swapped letter: both words share a deletion.
      if (token.length >= deletionIndexWordLengthMin) considerWords(this.#deletions.get(deletion));
    }
    // Short words are not in the deletion index; every one-edit spelling of them is cheap to try instead.
    if (token.length < deletionIndexWordLengthMin) {
      for (const spelling of oneEditSpellings(token)) if (this.#vocabulary.has(spelling)) edits.add(spelling);
    }
    // A misspelt "Sysems" is one edit from "systems", which the index holds as its canonical "system".
    for (const canonical of canonicalWordsWithinOneEdit(token))
      if (this.#vocabulary.has(canonical)) edits.add(canonical);
    const sameSkeleton = this.#skeletons.get(consonantSkeleton(token)) ?? [];
    // A skeleton shared by many words (short ones) says nothing; skip it rather than flood the candidates.
    const skeletonWords =
      sameSkeleton.length <= skeletonWordsMax ? sameSkeleton.filter((word) => !edits.has(word)) : [];
    const byFrequency = (words: Iterable<string>) =>
      [...words]
        .filter((word) => this.#frequency(country, word) > 0)
        .sort((a, b) => this.#frequency(country, b) - this.#frequency(country, a) || (a < b ? -1 : 1));
    return [...byFrequency(edits), ...byFrequency(skeletonWords)];
  }
}

/** Every spelling one insertion, substitution or adjacent swap away (deletions are checked separately). */
function* oneEditSpellings(token: string): Generator<string> {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  for (let i = 0; i <= token.length; i++) {
    const head = token.slice(0, i);
    if (i < token.length - 1)
      yield head + (token[i + 1] as string) + (token[i] as string) + token.slice(i + 2);
    for (const letter of letters) {
      yield head + letter + token.slice(i);
      if (i < token.length) yield head + letter + token.slice(i + 1);
    }
  }
}

/**
 * The `take` records of highest weight, ties by lower record first: the head of sorting every entry, without
 * sorting (or copying) them all. A query credits hundreds of records and keeps ~24; the full sort was a
 * tenth of the bytes a request allocates.
 */
export function topByWeight(weights: ReadonlyMap<number, number>, take: number): number[] {
  const records: number[] = [];
  const kept: number[] = [];
  weights.forEach((weight, record) => {
    if (records.length === take && ranksFirst(kept, records, take - 1, weight, record)) return;
    // Insertion from the end: `take` is small.
    let at = records.length;
    while (at > 0 && !ranksFirst(kept, records, at - 1, weight, record)) at--;
    records.splice(at, 0, record);
    kept.splice(at, 0, weight);
    if (records.length > take) {
      records.pop();
      kept.pop();
    }
  });
  return records;
}

/** Whether the kept entry at `at` ranks before (weight, record): heavier, or as heavy with a lower record. */
function ranksFirst(kept: number[], records: number[], at: number, weight: number, record: number): boolean {
  const keptWeight = kept[at] as number;
  return keptWeight > weight || (keptWeight === weight && (records[at] as number) < record);
}

/**
 * The first `limit` ids present in every list. Each list must be ascending (posting lists are: records are
 * added in id order) and the shortest must come first. Walks the shortest list and finds each id in the
 * others by galloping search from where the previous one was found, so the cost follows the shortest list
 * (times a logarithm), not the sum of the lists.
 */
export function intersectAscending(lists: readonly (readonly number[])[], limit: number): number[] {
  const [shortest, ...others] = lists;
  if (!shortest) return [];
  const cursors = others.map(() => 0);
  const found: number[] = [];
  candidates: for (const id of shortest) {
    for (let k = 0; k < others.length; k++) {
      const list = others[k] as readonly number[];
      // Gallop to a window [low, high) whose end is past id, then binary-search it for the first ≥ id.
      let low = cursors[k] as number;
      let step = 1;
      let high = low;
      while (high < list.length && (list[high] as number) < id) {
        low = high + 1;
        high = low + step;
        step *= 2;
      }
      high = Math.min(high, list.length);
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((list[middle] as number) < id) low = middle + 1;
        else high = middle;
      }
      cursors[k] = low;
      if (low === list.length) break candidates; // every later id is larger still: no more matches
      if (list[low] !== id) continue candidates;
    }
    found.push(id);
    if (found.length >= limit) break;
  }
  return found;
}

/**
 * FlexSearch's `import` with the table itself rather than its JSON text: the code takes either (it parses
 * only a string), the type declarations admit only the text, and a round trip through JSON would cost a
 * tenth of a build.
 */
function importTable(index: FlexIndex, key: 'map', table: unknown[]): void {
  (index.import as unknown as (key: string, data: unknown[]) => void).call(index, key, table);
}

/** resolution 1: one posting list per term; FlexSearch's positional ranking is not used (measured: -20% build). */
function newCountryIndex(): FlexIndex {
  return new Index({ tokenize: 'strict', encoder: Charset.Exact, resolution: 1 });
}
