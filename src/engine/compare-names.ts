/**
 * Comparing two raw names directly, exactly as the matcher scores a query against a candidate.
 *
 * @internal Exposed through `scoreNames`, `explainNames` and the matcher's `score` and `explain`.
 */
import { resolveCountry, unknownCountry } from './countries.js';
import { normalizeName } from './normalize.js';
import { explainScore, type ScoreExplanation, type ScoringName } from './score.js';

/** Options for comparing two names directly. */
export interface ScoreOptions {
  /** Country of both names (name, alpha-2 or alpha-3). */
  country?: string;
  /** Country of the second name when it differs from the first's. */
  otherCountry?: string;
}

function scoringNames(a: string, b: string, options: ScoreOptions): [ScoringName, ScoringName] {
  const country = options.country === undefined ? unknownCountry : resolveCountry(options.country);
  const otherCountry = options.otherCountry === undefined ? country : resolveCountry(options.otherCountry);
  return [
    { ...normalizeName(a, true), country },
    { ...normalizeName(b, true), country: otherCountry },
  ];
}

/**
 * The 0–100 similarity of two company names.
 *
 * @example scoreNames('ACME ENGINEERING LTD.', 'Acme Engineering Limited') // 100
 */
export function scoreNames(a: string, b: string, options: ScoreOptions = {}): number {
  return explainScore(...scoringNames(a, b, options)).score;
}

/**
 * How {@link scoreNames} reached its score: aligned tokens, each feature, each penalty.
 *
 * @example explainNames('Nordic Gas AS', 'Nordic Oil AS').penalties // [{ code: 'industry_word_mismatch', ... }]
 */
export function explainNames(a: string, b: string, options: ScoreOptions = {}): ScoreExplanation {
  return explainScore(...scoringNames(a, b, options));
}
