/**
 * The registry's match-rate and band rules, exactly as its credit page states them.
 */

export const matchRateDefault = 94;
export const matchRateMin = 30;
export const matchRateMax = 100;
/** Scores at or above this are `exactly_matched` and cost a credit. */
export const exactMatchScoreMin = 94;
/** Scores below this are "not matched" whatever the match rate. */
export const looseMatchScoreMin = 30;

export type MatchType = 'exactly_matched' | 'loosely_matched';
export type MatchBand = 'very_high' | 'high' | 'medium' | 'low' | 'very_low';

/**
 * Resolves a request's `match_rate`: absent → 94; a number or a string such as `"90"` or `"90%"`;
 * below 30 → 30; above 100 → 100; anything that is not a number → 30.
 *
 * @example resolveMatchRate('90%') // 90
 */
export function resolveMatchRate(value: unknown): number {
  if (value === undefined || value === null) return matchRateDefault;
  let numeric: number;
  if (typeof value === 'number') numeric = value;
  else if (typeof value === 'string') {
    const text = value.trim().replace(/%$/, '').trim();
    numeric = text === '' ? Number.NaN : Number(text);
  } else numeric = Number.NaN;
  if (!Number.isFinite(numeric)) return matchRateMin;
  return Math.min(matchRateMax, Math.max(matchRateMin, numeric));
}

/** `exactly_matched` for 94–100, `loosely_matched` for 30–93, `undefined` (not matched) below 30. */
export function matchTypeOf(score: number): MatchType | undefined {
  if (score >= exactMatchScoreMin) return 'exactly_matched';
  if (score >= looseMatchScoreMin) return 'loosely_matched';
  return undefined;
}

export function matchBandOf(score: number): MatchBand {
  if (score >= exactMatchScoreMin) return 'very_high';
  if (score >= 80) return 'high';
  if (score >= 60) return 'medium';
  if (score >= 30) return 'low';
  return 'very_low';
}
