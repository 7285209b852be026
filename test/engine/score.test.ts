import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explainNames, normalizeName, scoreNames } from '../../src/engine/index.js';

describe('the pair score', () => {
  it('scores names that are the same after normalization 100 when their legal forms agree', () => {
    expect(scoreNames('ACME ENGINEERING LTD.', 'Acme Engineering Limited')).toBe(100);
  });
  it('keeps numbered siblings out of the exact band (Fund III is not Fund IV)', () => {
    expect(scoreNames('Fund III LP', 'Fund IV LP')).toBeLessThan(94);
    expect(explainNames('Fund III LP', 'Fund IV LP').penalties.map((p) => p.code)).toContain(
      'numeral_mismatch',
    );
  });
  it('keeps industry-word siblings out of the exact band (Gas is not Oil)', () => {
    expect(scoreNames('Nordic Gas AS', 'Nordic Oil AS')).toBeLessThan(60);
  });
  it('keeps "X Engineering" and "X Engineering Services" apart', () => {
    expect(scoreNames('Acme Engineering Ltd', 'Acme Engineering Services Ltd')).toBeLessThan(94);
  });
  it('does not make GmbH and AG of one name an exact match', () => {
    const explanation = explainNames('Acme GmbH', 'Acme AG');
    expect(explanation.score).toBeLessThan(94);
    expect(explanation.legalForms.relation).toBe('conflict');
  });
  it('gives a one-letter typo a high loose score, not an exact one', () => {
    const score = scoreNames('Acme Engneering Ltd', 'Acme Engineering Ltd');
    expect(score).toBeGreaterThanOrEqual(80);
    expect(score).toBeLessThan(94);
  });
  it('counts a swap of two adjacent letters as one typo', () => {
    const swapped = scoreNames('Astfer Qourvex', 'Astfer Quorvex');
    expect(explainNames('Astfer Qourvex', 'Astfer Quorvex').aligned[1]?.similarity).toBeCloseTo(1 - 1 / 7, 4);
    expect(swapped).toBeGreaterThan(scoreNames('Astfer Qxyrvex', 'Astfer Quorvex'));
  });
  it('penalizes names in different countries', () => {
    expect(scoreNames('Acme Ltd', 'Acme Ltd', { country: 'GB', otherCountry: 'IE' })).toBeLessThan(94);
  });
  it('explains which tokens aligned and every penalty', () => {
    const explanation = explainNames('Acme Engneering Gas Ltd', 'Acme Engineering Oil Ltd');
    expect(explanation.aligned.map((a) => a.query)).toContain('acme');
    expect(explanation.penalties.map((p) => p.code)).toContain('industry_word_mismatch');
    expect(explanation.features.tokenScore).toBeGreaterThan(0);
  });

  const companyName = fc
    .array(
      fc.constantFrom(
        'acme',
        'nordic',
        'gas',
        'oil',
        'services',
        'iii',
        'iv',
        '3',
        'müller',
        'mueller',
        'ltd',
        'gmbh',
        'ag',
        'group',
        'sibirskie',
        '&',
        'the',
        'xy',
      ),
      { minLength: 0, maxLength: 6 },
    )
    .map((words) => words.join(' '));

  it('always gives an integer from 0 to 100, the same both ways round', () => {
    fc.assert(
      fc.property(companyName, companyName, (a, b) => {
        const score = scoreNames(a, b);
        expect(Number.isInteger(score) && score >= 0 && score <= 100).toBe(true);
        expect(scoreNames(b, a)).toBe(score);
      }),
      { numRuns: 2000 },
    );
  });

  it('reaches the exact band only for names equal after normalization (checked against the obvious rule)', () => {
    fc.assert(
      fc.property(companyName, companyName, (a, b) => {
        const x = normalizeName(a, true);
        const y = normalizeName(b, true);
        const sameName = x.tokens.length > 0 && x.tokens.join('') === y.tokens.join('');
        if (scoreNames(a, b) >= 94) expect(sameName).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });
});

describe('the hot-path score', () => {
  const word = fc.constantFrom(
    'acme',
    'nordic',
    'gas',
    'services',
    'iii',
    'müller',
    'mueller',
    'ltd',
    'gmbh',
    'ag',
    'pty ltd',
    'coca-cola',
    'cocacola',
    'the',
  );
  const name = fc.array(word, { minLength: 0, maxLength: 5 }).map((words) => words.join(' '));
  it('always equals the score its explanation reports (the shortcut for equal names changes nothing)', async () => {
    const { explainScore, scoreNormalized } = await import('../../src/engine/score.js');
    fc.assert(
      fc.property(
        name,
        name,
        fc.constantFrom(0, 1, 2),
        fc.constantFrom(0, 1, 2),
        (a, b, countryA, countryB) => {
          const x = { ...normalizeName(a, true), country: countryA };
          const y = { ...normalizeName(b, true), country: countryB };
          expect(scoreNormalized(x, y)).toBe(explainScore(x, y).sortKey);
          expect(Math.floor(scoreNormalized(x, y))).toBe(explainScore(x, y).score);
        },
      ),
      { numRuns: 5000 },
    );
  });
});
