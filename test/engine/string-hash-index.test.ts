import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StringHashIndex } from '../../src/engine/string-hash-index.js';

describe('the string hash index', () => {
  it('answers exactly like a Map of arrays, through growth and rehashing (property)', () => {
    fc.assert(
      fc.property(
        // Few short keys and values, so that repeated keys and repeated pairs both occur.
        fc.array(fc.tuple(fc.string({ maxLength: 3 }), fc.nat(20)), { maxLength: 3000 }),
        (pairs) => {
          const index = new StringHashIndex();
          const reference = new Map<string, number[]>();
          for (const [key, value] of pairs) {
            index.add(key, value);
            const values = reference.get(key) ?? [];
            // The same pair twice is stored once.
            if (!values.includes(value)) reference.set(key, [...values, value]);
          }
          for (const [key, values] of reference) expect(index.get(key)).toEqual(values);
          expect(index.get('\u0000absent')).toEqual([]);
          expect(index.size).toBe([...reference.values()].reduce((sum, values) => sum + values.length, 0));
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
