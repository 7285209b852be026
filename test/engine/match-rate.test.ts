import { describe, expect, it } from 'vitest';
import { matchBandOf, matchTypeOf, resolveMatchRate } from '../../src/engine/index.js';

describe("the seed's match_rate rules", () => {
  it('applies 94 when match_rate is absent', () => {
    expect(resolveMatchRate(undefined)).toBe(94);
    expect(resolveMatchRate(null)).toBe(94);
  });
  it('accepts numbers and strings such as "90" and "90%"', () => {
    expect(resolveMatchRate(90)).toBe(90);
    expect(resolveMatchRate('90')).toBe(90);
    expect(resolveMatchRate('90%')).toBe(90);
    expect(resolveMatchRate(' 75 % ')).toBe(75);
  });
  it('raises values below 30 to 30', () => {
    expect(resolveMatchRate(10)).toBe(30);
    expect(resolveMatchRate('-5')).toBe(30);
  });
  it('caps values above 100 at 100', () => {
    expect(resolveMatchRate(150)).toBe(100);
    expect(resolveMatchRate('1000%')).toBe(100);
  });
  it('falls back to 30 for anything that is not a number', () => {
    for (const value of ['abc', '', '%', true, {}, [], Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(resolveMatchRate(value)).toBe(30);
    }
  });
});

describe("the seed's bands", () => {
  it('calls 94-100 exactly_matched, 30-93 loosely_matched and 0-29 not matched', () => {
    expect(matchTypeOf(100)).toBe('exactly_matched');
    expect(matchTypeOf(94)).toBe('exactly_matched');
    expect(matchTypeOf(93)).toBe('loosely_matched');
    expect(matchTypeOf(30)).toBe('loosely_matched');
    expect(matchTypeOf(29)).toBeUndefined();
  });
  it('names the bands Very High, High, Medium, Low and Very Low at the documented edges', () => {
    expect([94, 93, 80, 79, 60, 59, 30, 29].map(matchBandOf)).toEqual([
      'very_high',
      'high',
      'high',
      'medium',
      'medium',
      'low',
      'low',
      'very_low',
    ]);
  });
});
