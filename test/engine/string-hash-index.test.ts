import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringHashIndex } from '../../src/engine/string-hash-index.js';

describe('the string hash index', () => {
  it('answers exactly like a Map of arrays, through growth and rehashing (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ maxLength: 12 }), fc.nat(1000)), { maxLength: 3000 }),
        (pairs) => {
          const index = new StringHashIndex();
          const reference = new Map<string, number[]>();
          for (const [key, value] of pairs) {
            index.add(key, value);
            reference.set(key, [...(reference.get(key) ?? []), value]);
          }
          for (const [key, values] of reference) expect(index.get(key)).toEqual(values);
          expect(index.get('\u0000absent')).toEqual([]);
          expect(index.size).toBe(pairs.length);
        },
      ),
      { numRuns: 60 },
    );
  });
  it('keeps non-ASCII keys apart from their look-alikes', () => {
    const index = new StringHashIndex();
    index.add('Müller', 1);
    index.add('Muller', 2);
    index.add('Мюллер', 3);
    expect([index.get('Müller'), index.get('Muller'), index.get('Мюллер')]).toEqual([[1], [2], [3]]);
  });
});
