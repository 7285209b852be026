import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { legalFormCode, normalizeName } from '../../src/engine/index.js';
import { foldDigraphs, splitTokens, toAscii, toAsciiSlowly } from '../../src/engine/normalize.js';
import { countryTable, legalFormTable } from '../../src/engine/reference-tables.js';

const same = (a: string, b: string) => {
  const x = normalizeName(a);
  const y = normalizeName(b);
  expect(x.tokens, `${a} vs ${b}`).toEqual(y.tokens);
  expect(legalFormCode(x.legalForm), `${a} vs ${b}`).toBe(legalFormCode(y.legalForm));
};

describe('normalization', () => {
  it('ignores case, punctuation, whitespace and & versus and', () => {
    same('ACME ENGINEERING LTD.', 'Acme Engineering Ltd');
    same('Smith & Sons Ltd', 'Smith and Sons Limited');
    same('  Acme,   Engineering  ', 'acme engineering');
  });
  it('treats diacritics both ways: Müller = Muller = Mueller', () => {
    same('Müller GmbH', 'Muller GmbH');
    same('Müller GmbH', 'Mueller GmbH');
  });
  it('transliterates Cyrillic and Greek names and their legal forms', () => {
    expect(normalizeName('ООО Сибирские Технологии').tokens).toEqual(['sibirskie', 'tekhnologii']);
    expect(legalFormCode(normalizeName('ООО Сибирские Технологии').legalForm)).toBe('OOO');
    expect(legalFormCode(normalizeName('Ελληνικά Πετρέλαια Α.Ε.').legalForm)).toBe('AE');
  });
  it('recognises legal forms in long, short, dotted and local-script spellings', () => {
    same('Siemens Aktiengesellschaft', 'Siemens AG');
    same('Acme Gesellschaft mit beschränkter Haftung', 'Acme G.m.b.H.');
    same('Acme S.A. de C.V.', 'Acme SA de CV');
    same('Acme Sp. z o.o.', 'Acme Spółka z ograniczoną odpowiedzialnością');
    same('Hengli Co., Ltd.', 'Hengli Company Limited');
    same('ООО Ромашка', 'OOO Romashka');
  });
  it('knows legal forms of at least 40 jurisdictions, each mapped to one canonical code', () => {
    const jurisdictions = new Set(legalFormTable().flatMap((form) => form.jurisdictions));
    expect(jurisdictions.size).toBeGreaterThanOrEqual(40);
  });
  it('recognises every legal form the generator writes for every country', () => {
    for (const country of countryTable()) {
      for (const form of country.legalForms) {
        expect(normalizeName(`Vexorum ${form}`).legalForm, `${country.alpha2} ${form}`).not.toBe(0);
      }
    }
  });
  it('expands common business abbreviations', () => {
    same('Acme Intl Mfg Svcs Grp', 'Acme International Manufacturing Services Group');
    same('Acme Tech Labs Eng', 'Acme Technologies Laboratories Engineering');
  });
  it('drops a leading "The" and a trailing country qualifier such as "(UK)"', () => {
    same('The Acme Engineering Ltd (UK)', 'Acme Engineering Ltd');
    same('Acme Engineering Ltd [Germany]', 'Acme Engineering Ltd');
  });
  it('keeps numerals and industry words, which distinguish companies', () => {
    expect(normalizeName('Fund III LP').tokens).toEqual(['fund', '3']);
    expect(normalizeName('Fund IV LP').tokens).toEqual(['fund', '4']);
    expect(normalizeName('Nordic Gas AS').tokens).not.toEqual(normalizeName('Nordic Oil AS').tokens);
  });
  it('returns no tokens for a name that is only punctuation or only a legal form', () => {
    expect(normalizeName('...!!!').tokens).toEqual([]);
    expect(normalizeName('Ltd.').tokens).toEqual([]);
    expect(normalizeName('Ltd.', true).tokens).toEqual(['ltd']);
  });
  it('survives control characters and 10 kB names', () => {
    expect(normalizeName('Acme\u0000\u0007 Engineering\u200b Ltd').tokens).toEqual(['acme', 'engineering']);
    expect(normalizeName('x'.repeat(10_000)).tokens.length).toBeLessThanOrEqual(16);
  });
});

describe('splitting a name into tokens', () => {
  /** The four regular-expression passes the one-pass tokenizer replaced. */
  const byRegularExpressions = (ascii: string) => {
    const cleaned = ascii
      .toLowerCase()
      .replace(/[&+]/g, ' and ')
      .replace(/[.'`]/g, '')
      .replace(/[^a-z0-9]+/g, ' ')
      .trim();
    return cleaned === '' ? [] : cleaned.split(' ');
  };

  it('gives the tokens the regular-expression passes give, for any printable ASCII name (property)', () => {
    const nameCharacters = fc.constantFrom(..."aZ09 .&+'`-_,/()AbcXyz".split(''));
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: nameCharacters, maxLength: 40 }),
          fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
        ),
        (name) => {
          expect(splitTokens(name)).toEqual(byRegularExpressions(name));
        },
      ),
      { numRuns: 3_000 },
    );
  });
});

describe('transliterating to ASCII', () => {
  it('gives what normalizing and transliterating the whole text gives, for any text (property)', () => {
    // Latin, Greek and Cyrillic with their combining marks, control characters, and a few from further on
    // (CJK, ligatures, invisible spaces), so that both the table and the whole-text way are taken.
    const character = fc.oneof(
      fc.integer({ min: 0, max: 0x52f }).map((unit) => String.fromCharCode(unit)),
      fc.constantFrom('a', 'E', ' ', '\u0301', '\u0308', '\ufb01', '\u200b', '\u4e2d', '\u00e9', 'ß', 'Ж'),
    );
    fc.assert(
      fc.property(fc.array(character, { maxLength: 20 }), (characters) => {
        const text = characters.join('');
        expect(toAscii(text)).toBe(toAsciiSlowly(text));
      }),
      { numRuns: 20_000 },
    );
  });
});

describe('folding vowel digraphs', () => {
  it('folds them while splitting exactly as folding each token afterwards, for any name (property)', () => {
    const nameCharacters = fc.constantFrom(..."aeouAEOU xy.'&-ü".split(''));
    fc.assert(
      fc.property(fc.string({ unit: nameCharacters, maxLength: 24 }), (name) => {
        expect(splitTokens(name, true)).toEqual(splitTokens(name).map(foldDigraphs));
      }),
      { numRuns: 3_000 },
    );
  });

  it('folds exactly what the replacement folds, for any word (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(...'aeouEAxü'.split('')), maxLength: 12 }), (word) => {
        expect(foldDigraphs(word)).toBe(word.length > 2 ? word.replace(/([aou])e/g, '$1') : word);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('legal forms in queries', () => {
  it('recognises a legal form with one typo in one of its words, and claims no particular form for it', () => {
    for (const name of [
      'Tiankai Machinery Co., Ltwd.',
      'Tiankai Machinery Company Limted',
      'Tiankai Machinery Limitde',
    ]) {
      const normalized = normalizeName(name);
      expect(normalized.tokens, name).toEqual(['tiankai', 'machinery']);
      expect(normalized.legalForm, name).toBe(0);
    }
  });
  it('never fuzzes two-letter forms (Sa is not So) nor registry names', () => {
    expect(normalizeName('Acme So').tokens).toEqual(['acme', 'so']);
    expect(normalizeName('Acme Ltwd', true).tokens).toEqual(['acme', 'ltwd']);
  });
});

describe('the one-edit test behind typo retrieval and fuzzy legal forms', () => {
  /** Optimal string alignment distance by dynamic programming: slow and obviously right. */
  function osaDistance(a: string, b: string): number {
    const d = Array.from({ length: a.length + 1 }, (_, i) =>
      Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
    );
    for (let i = 1; i <= a.length; i++) {
      for (let j = 1; j <= b.length; j++) {
        const cost = a[i - 1] === b[j - 1] ? 0 : 1;
        let best = Math.min(
          (d[i - 1]?.[j] ?? 0) + 1,
          (d[i]?.[j - 1] ?? 0) + 1,
          (d[i - 1]?.[j - 1] ?? 0) + cost,
        );
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
          best = Math.min(best, (d[i - 2]?.[j - 2] ?? 0) + 1);
        (d[i] as number[])[j] = best;
      }
    }
    return d[a.length]?.[b.length] ?? 0;
  }
  it('agrees with the edit distance computed the slow way (property)', async () => {
    const { withinOneEdit } = await import('../../src/engine/normalize.js');
    const word = fc.string({ unit: fc.constantFrom('a', 'b', 'c'), maxLength: 6 });
    fc.assert(
      fc.property(word, word, (a, b) => {
        expect(withinOneEdit(a, b)).toBe(osaDistance(a, b) <= 1);
      }),
      { numRuns: 5000 },
    );
  });
});
