/**
 * Candidate retrieval: which name records are worth scoring for a query.
 *
 * One FlexSearch `Index` per country (strict tokenizer, exact charset: names arrive already normalized),
 * holding each record's core tokens plus a whole-name key (`_` + compact name). Tiers, cheapest first:
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
import { compactKey } from './normalize.js';

const { Index, Charset } = FlexSearch;
type FlexIndex = InstanceType<typeof Index>;

export interface CandidateIndexOptions {
  /** How many records go to scoring per query. */
  candidatesMax: number;
  /** Posting lists longer than this belong to common words and are not walked one by one. */
  postingsMax: number;
}

export const defaultCandidateIndexOptions: CandidateIndexOptions = { candidatesMax: 24, postingsMax: 1500 };

/** Weights: a whole-name hit outranks any token evidence, an all-token hit outranks partial evidence. */
const wholeNameWeight = 1_000;
const allTokensWeight = 100;
const correctedTokenFactor = 0.7;
const allTokensLimit = 64;
const wholeNameLimit = 64;

const wholeNameMarker = '_';
const skeletonWordsMax = 16;
const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';

/**
 * A consonant skeleton for transliteration variants: vowels and y dropped, common digraphs folded, doubled
 * letters collapsed. `tekhnologii`, `technologii` and `tehnologii` share `tcnlg`.
 */
export function consonantSkeleton(token: string): string {
  const folded = token
    .replace(/kh|ch|h/g, 'c')
    .replace(/ph/g, 'f')
    .replace(/ts|tz|z/g, 's')
    .replace(/k|q/g, 'c')
    .replace(/w/g, 'v')
    .replace(/[aeiouy]/g, '')
    .replace(/(.)\1+/g, '$1');
  return folded.length >= 3 ? folded : '';
}

export class CandidateIndex {
  readonly #byCountry = new Map<number, FlexIndex>();
  readonly #recordsByCountry = new Map<number, number>();
  readonly #vocabulary = new Set<string>();
  readonly #skeletons = new Map<string, string[]>();
  readonly #options: CandidateIndexOptions;

  constructor(options: CandidateIndexOptions = defaultCandidateIndexOptions) {
    this.#options = options;
  }

  add(record: number, country: number, tokens: readonly string[]): void {
    let index = this.#byCountry.get(country);
    if (!index) {
      index = new Index({ tokenize: 'strict', encoder: Charset.Exact });
      this.#byCountry.set(country, index);
    }
    this.#recordsByCountry.set(country, (this.#recordsByCountry.get(country) ?? 0) + 1);
    for (const token of tokens) {
      if (this.#vocabulary.has(token)) continue;
      this.#vocabulary.add(token);
      const skeleton = consonantSkeleton(token);
      if (skeleton !== '') {
        const words = this.#skeletons.get(skeleton);
        if (words) words.push(token);
        else this.#skeletons.set(skeleton, [token]);
      }
    }
    index.add(record, `${tokens.join(' ')} ${wholeNameMarker}${compactKey(tokens)}`);
  }

  get vocabularySize(): number {
    return this.#vocabulary.size;
  }

  /** Candidate name records for a query in one country, best evidence first. */
  candidates(country: number, tokens: readonly string[]): number[] {
    const index = this.#byCountry.get(country);
    if (!index || tokens.length === 0) return [];
    const countryRecords = this.#recordsByCountry.get(country) ?? 1;
    const weights = new Map<number, number>();
    const credit = (records: readonly unknown[], weight: number) => {
      for (const record of records as number[]) weights.set(record, (weights.get(record) ?? 0) + weight);
    };
    credit(
      index.search(wholeNameMarker + compactKey(tokens), { limit: wholeNameLimit }) as number[],
      wholeNameWeight,
    );
    if (tokens.length > 1) {
      credit(index.search(tokens.join(' '), { limit: allTokensLimit }) as number[], allTokensWeight);
    }
    for (const token of new Set(tokens)) {
      if (this.#vocabulary.has(token)) {
        this.#creditToken(index, token, countryRecords, 1, credit);
        continue;
      }
      for (const correction of this.#corrections(token)) {
        this.#creditToken(index, correction, countryRecords, correctedTokenFactor, credit);
      }
    }
    return [...weights]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, this.#options.candidatesMax)
      .map(([record]) => record);
  }

  #creditToken(
    index: FlexIndex,
    token: string,
    countryRecords: number,
    factor: number,
    credit: (records: readonly unknown[], weight: number) => void,
  ): void {
    const postings = index.search(token, { limit: this.#options.postingsMax + 1 }) as number[];
    if (postings.length === 0 || postings.length > this.#options.postingsMax) return;
    credit(postings, factor * Math.log(1 + countryRecords / postings.length));
  }

  /** Vocabulary words one edit away, or sharing the consonant skeleton, of a word the index has never seen. */
  #corrections(token: string): Set<string> {
    const found = new Set<string>();
    const probe = (word: string) => {
      if (this.#vocabulary.has(word)) found.add(word);
    };
    for (let i = 0; i <= token.length; i++) {
      const head = token.slice(0, i);
      const tail = token.slice(i);
      if (i < token.length) probe(head + token.slice(i + 1)); // deletion
      if (i < token.length - 1)
        probe(head + (token[i + 1] as string) + (token[i] as string) + token.slice(i + 2)); // transposition
      for (const letter of alphabet) {
        probe(head + letter + tail); // insertion
        if (i < token.length) probe(head + letter + token.slice(i + 1)); // substitution
      }
    }
    const sameSkeleton = this.#skeletons.get(consonantSkeleton(token)) ?? [];
    // A skeleton shared by many words (short ones) says nothing; skip it rather than flood the candidates.
    if (sameSkeleton.length <= skeletonWordsMax) for (const word of sameSkeleton) found.add(word);
    return found;
  }
}
