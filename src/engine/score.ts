/**
 * The pair scorer: how similar two normalized company names are, 0–100.
 *
 * Pure and deterministic: the same inputs give the same integer on the main thread and in every worker.
 * It combines token alignment and character edit distance (fastest-levenshtein), then applies penalties for
 * what makes two similar names different companies: another numeral (Fund III / Fund IV), another industry
 * word (Gas / Oil), an unmatched distinctive word, conflicting legal-form families, another country.
 *
 * The exact band (94–100) is reserved for names that are *the same* after normalization: same compact key,
 * compatible legal forms, same country. Everything else is capped at {@link looseScoreMax}. That makes the
 * seed's short-name rule and "no exact match between siblings" structural rather than a matter of tuning.
 */
import { distance } from 'fastest-levenshtein';
import { exactMatchScoreMin } from './match-rate.js';
import { compactKey, isGenericWord, isIndustryWord, legalFormCode, legalFormFamily } from './normalize.js';

/** The features of one side of a comparison. */
export interface ScoringName {
  tokens: readonly string[];
  /** Legal-form index from normalization; 0 for none. */
  legalForm: number;
  /** Country index; 0 for unknown (no country penalty is applied then). */
  country: number;
}

/** The top of the loose band: every pair that is not the same name after normalization is capped here. */
export const looseScoreMax = exactMatchScoreMin - 1;

/** Scores of the exact band, by how the legal forms compare. */
const exactScoreSameLegalForm = 100;
const exactScoreOneLegalFormMissing = 97;
const exactScoreSameFamily = 96;

/** Tokens whose similarity falls below this are not aligned at all. */
const tokenSimilarityMin = 0.6;
/** Aligned tokens at or above this count as "the same word, maybe misspelt" for the penalties. */
const tokenSameWordMin = 0.75;
const genericWordWeight = 0.5;
const tokenScoreWeight = 0.55;
const characterScoreWeight = 0.45;
/** A reordered name is the same words in another order: a little less likely to be the same company. */
const reorderedCharacterFactor = 0.97;

export const penaltyPoints = {
  numeralMismatch: 30,
  industryWordMismatch: 20,
  distinctiveWordUnmatched: 6,
  distinctiveWordUnmatchedMax: 18,
  legalFormConflict: 10,
  countryMismatch: 30,
} as const;

export interface TokenAlignment {
  query: string;
  candidate: string;
  similarity: number;
}

export interface Penalty {
  code:
    | 'numeral_mismatch'
    | 'industry_word_mismatch'
    | 'distinctive_word_unmatched'
    | 'legal_form_conflict'
    | 'country_mismatch';
  points: number;
  detail: string;
}

/** Why a score is what it is: every feature, its weight, and every penalty. */
export interface ScoreExplanation {
  score: number;
  /**
   * The score plus the uncapped similarity / 1,000, for ranking: two loose results both capped at 93 are
   * still told apart by how close they really were. `Math.floor(sortKey) === score` always.
   */
  sortKey: number;
  queryTokens: readonly string[];
  candidateTokens: readonly string[];
  aligned: TokenAlignment[];
  unmatchedQueryTokens: string[];
  unmatchedCandidateTokens: string[];
  features: {
    tokenScore: number;
    characterScore: number;
    characterScoreReordered: number;
    baseScore: number;
    tokenScoreWeight: number;
    characterScoreWeight: number;
  };
  penalties: Penalty[];
  legalForms: { query: string; candidate: string; relation: LegalFormRelation };
  sameNameAfterNormalization: boolean;
  /** How the exact band was reached or why it was not. */
  band: string;
}

type LegalFormRelation = 'same' | 'one_missing' | 'both_missing' | 'same_family' | 'conflict';

const numeralToken = /^[0-9]+$/;

/** Whether b is a with one pair of adjacent letters swapped (Pharma / Pahrma). */
function isAdjacentTransposition(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let first = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    if (first >= 0)
      return i === first + 1 && a[first] === b[i] && a[i] === b[first] && a.slice(i + 1) === b.slice(i + 1);
    first = i;
  }
  return false;
}

function tokenSimilarity(a: string, b: string): number {
  if (a === b) return 1;
  // Numerals are identities, not spellings: 3 is not a typo of 4.
  if (numeralToken.test(a) || numeralToken.test(b)) return 0;
  const longest = Math.max(a.length, b.length);
  let edits = distance(a, b);
  // Levenshtein counts a swap of two letters as two edits; people make it as one typo.
  if (edits === 2 && isAdjacentTransposition(a, b)) edits = 1;
  return 1 - edits / longest;
}

function tokenWeight(token: string): number {
  return isGenericWord(token) ? genericWordWeight : 1;
}

function characterSimilarity(a: string, b: string): number {
  const longest = Math.max(a.length, b.length);
  return longest === 0 ? 0 : 1 - distance(a, b) / longest;
}

function compareLegalForms(a: number, b: number): LegalFormRelation {
  if (a === 0 && b === 0) return 'both_missing';
  if (a === 0 || b === 0) return 'one_missing';
  if (a === b) return 'same';
  const familyA = legalFormFamily(a);
  const familyB = legalFormFamily(b);
  return familyA === familyB || familyA === 'generic' || familyB === 'generic' ? 'same_family' : 'conflict';
}

interface Alignment {
  pairs: TokenAlignment[];
  /** Similarity of each query token to the candidate token it is aligned with; 0 when unaligned. */
  querySimilarity: Float64Array;
  candidateSimilarity: Float64Array;
}

/**
 * Greedy best-first alignment of query tokens to candidate tokens. Names have few tokens (≤ 16 by
 * construction), so all pairs are compared; ties go to the earlier position so results are deterministic.
 */
function alignTokens(query: readonly string[], candidate: readonly string[]): Alignment {
  const scored: { i: number; j: number; similarity: number }[] = [];
  for (let i = 0; i < query.length; i++) {
    for (let j = 0; j < candidate.length; j++) {
      const similarity = tokenSimilarity(query[i] as string, candidate[j] as string);
      if (similarity >= tokenSimilarityMin) scored.push({ i, j, similarity });
    }
  }
  scored.sort((x, y) => y.similarity - x.similarity || x.i - y.i || x.j - y.j);
  const querySimilarity = new Float64Array(query.length);
  const candidateSimilarity = new Float64Array(candidate.length);
  const pairs: TokenAlignment[] = [];
  for (const { i, j, similarity } of scored) {
    if (querySimilarity[i] !== 0 || candidateSimilarity[j] !== 0) continue;
    querySimilarity[i] = similarity;
    candidateSimilarity[j] = similarity;
    pairs.push({
      query: query[i] as string,
      candidate: candidate[j] as string,
      similarity: round4(similarity),
    });
  }
  return { pairs, querySimilarity, candidateSimilarity };
}

function unmatchedTokens(tokens: readonly string[], similarity: Float64Array, threshold: number): string[] {
  return tokens.filter((_, i) => (similarity[i] as number) < threshold);
}

function collectPenalties(
  query: ScoringName,
  candidate: ScoringName,
  alignment: Alignment,
  legalFormRelation: LegalFormRelation,
): Penalty[] {
  const penalties: Penalty[] = [];
  const queryNumerals = query.tokens.filter((token) => numeralToken.test(token));
  const candidateNumerals = candidate.tokens.filter((token) => numeralToken.test(token));
  if (queryNumerals.join(' ') !== candidateNumerals.join(' ')) {
    penalties.push({
      code: 'numeral_mismatch',
      points: penaltyPoints.numeralMismatch,
      detail: `numerals [${queryNumerals.join(', ')}] vs [${candidateNumerals.join(', ')}]`,
    });
  }
  const unmatched = [
    ...unmatchedTokens(query.tokens, alignment.querySimilarity, tokenSameWordMin),
    ...unmatchedTokens(candidate.tokens, alignment.candidateSimilarity, tokenSameWordMin),
  ].filter((token) => !numeralToken.test(token));
  const industry = unmatched.filter((token) => isIndustryWord(token));
  if (industry.length > 0) {
    penalties.push({
      code: 'industry_word_mismatch',
      points: penaltyPoints.industryWordMismatch,
      detail: `industry words on one side only: ${industry.join(', ')}`,
    });
  }
  const distinctive = unmatched.filter((token) => !isIndustryWord(token) && !isGenericWord(token));
  if (distinctive.length > 0) {
    penalties.push({
      code: 'distinctive_word_unmatched',
      points: Math.min(
        distinctive.length * penaltyPoints.distinctiveWordUnmatched,
        penaltyPoints.distinctiveWordUnmatchedMax,
      ),
      detail: `distinctive words on one side only: ${distinctive.join(', ')}`,
    });
  }
  if (legalFormRelation === 'conflict') {
    penalties.push({
      code: 'legal_form_conflict',
      points: penaltyPoints.legalFormConflict,
      detail: `${legalFormCode(query.legalForm)} and ${legalFormCode(candidate.legalForm)} are different kinds of company`,
    });
  }
  if (query.country !== 0 && candidate.country !== 0 && query.country !== candidate.country) {
    penalties.push({
      code: 'country_mismatch',
      points: penaltyPoints.countryMismatch,
      detail: 'different countries',
    });
  }
  return penalties;
}

function sortedCompact(tokens: readonly string[]): string {
  return [...tokens].sort().join('');
}

/**
 * Scores two normalized names and explains the result. {@link scoreNormalized} returns the same `score`.
 *
 * @example
 * explainScore({ tokens: ['acme', 'engineering'], legalForm: 0, country: 0 },
 *              { tokens: ['acme', 'engineering', 'service'], legalForm: 0, country: 0 }).score // 85, not exact
 */
export function explainScore(query: ScoringName, candidate: ScoringName): ScoreExplanation {
  const alignment = alignTokens(query.tokens, candidate.tokens);
  const weightOf = (tokens: readonly string[]) => tokens.reduce((sum, token) => sum + tokenWeight(token), 0);
  const totalWeight = weightOf(query.tokens) + weightOf(candidate.tokens);
  let alignedWeight = 0;
  for (const pair of alignment.pairs) {
    alignedWeight += pair.similarity * (tokenWeight(pair.query) + tokenWeight(pair.candidate));
  }
  const tokenScore = totalWeight === 0 ? 0 : alignedWeight / totalWeight;
  const queryCompact = compactKey(query.tokens);
  const candidateCompact = compactKey(candidate.tokens);
  const characterScore = characterSimilarity(queryCompact, candidateCompact);
  const characterScoreReordered =
    reorderedCharacterFactor *
    characterSimilarity(sortedCompact(query.tokens), sortedCompact(candidate.tokens));
  const baseScore =
    tokenScoreWeight * tokenScore + characterScoreWeight * Math.max(characterScore, characterScoreReordered);
  const legalFormRelation = compareLegalForms(query.legalForm, candidate.legalForm);
  const penalties = collectPenalties(query, candidate, alignment, legalFormRelation);
  const penaltyTotal = penalties.reduce((sum, penalty) => sum + penalty.points, 0);
  const sameName = queryCompact !== '' && queryCompact === candidateCompact;
  const sameCountry = query.country === 0 || candidate.country === 0 || query.country === candidate.country;

  let score: number;
  let sortKey: number;
  let band: string;
  if (sameName && sameCountry && legalFormRelation !== 'conflict') {
    score = exactScoreFor(legalFormRelation);
    sortKey = score;
    band = `same name after normalization; legal forms: ${legalFormRelation.replace('_', ' ')}`;
  } else {
    const uncapped = 100 * baseScore - penaltyTotal;
    score = Math.min(looseScoreMax, Math.max(0, Math.round(uncapped)));
    sortKey = sortKeyOf(score, uncapped);
    band = sameName
      ? 'same name, but a conflicting legal form or another country: capped below the exact band'
      : 'names differ after normalization: capped below the exact band';
  }
  return {
    score,
    sortKey,
    queryTokens: query.tokens,
    candidateTokens: candidate.tokens,
    aligned: alignment.pairs,
    unmatchedQueryTokens: unmatchedTokens(query.tokens, alignment.querySimilarity, tokenSimilarityMin),
    unmatchedCandidateTokens: unmatchedTokens(
      candidate.tokens,
      alignment.candidateSimilarity,
      tokenSimilarityMin,
    ),
    features: {
      tokenScore: round4(tokenScore),
      characterScore: round4(characterScore),
      characterScoreReordered: round4(characterScoreReordered),
      baseScore: round4(baseScore),
      tokenScoreWeight,
      characterScoreWeight,
    },
    penalties,
    legalForms: {
      query: legalFormCode(query.legalForm),
      candidate: legalFormCode(candidate.legalForm),
      relation: legalFormRelation,
    },
    sameNameAfterNormalization: sameName,
    band,
  };
}

/**
 * The sort key alone (see {@link ScoreExplanation.sortKey}; the score is its integer part), for the hot path;
 * always equal to `explainScore(query, candidate).sortKey` (a property test holds it to that). Names equal after normalization take a shortcut: their score depends only on legal forms
 * and country, so the token alignment, which only the explanation needs, is skipped. In a realistic query mix
 * most scored pairs are of that kind.
 */
export function scoreNormalized(query: ScoringName, candidate: ScoringName): number {
  if (query.tokens.length > 0 && query.tokens.length === candidate.tokens.length) {
    const sameCountry = query.country === 0 || candidate.country === 0 || query.country === candidate.country;
    const relation = compareLegalForms(query.legalForm, candidate.legalForm);
    if (sameCountry && relation !== 'conflict' && compactKey(query.tokens) === compactKey(candidate.tokens)) {
      return exactScoreFor(relation);
    }
  }
  return explainScore(query, candidate).sortKey;
}

function exactScoreFor(relation: LegalFormRelation): number {
  if (relation === 'same' || relation === 'both_missing') return exactScoreSameLegalForm;
  return relation === 'one_missing' ? exactScoreOneLegalFormMissing : exactScoreSameFamily;
}

/**
 * A ranking key: the integer score, then a tie-break (an uncapped similarity, or an earlier sort key) in the
 * fraction. The tie-break is clamped so that `Math.floor(sortKeyOf(score, t)) === score` always holds.
 */
export function sortKeyOf(score: number, tieBreak: number): number {
  return score + Math.min(Math.max(tieBreak, 0), 99.9) / 1_000;
}

function round4(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
