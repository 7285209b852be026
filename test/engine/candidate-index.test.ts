import fc from 'fast-check';
import FlexSearch from 'flexsearch';
import { describe, expect, it } from 'vitest';
import { intersectAscending, topByWeight } from '../../src/engine/candidate-index.js';

const ascendingList = fc
  .uniqueArray(fc.integer({ min: 0, max: 2_000 }), { maxLength: 400 })
  .map((ids) => ids.sort((a, b) => a - b));

describe('posting-list intersection', () => {
  it('finds exactly the ids every list holds, in order, up to the limit (against a naive filter)', () => {
    fc.assert(
      fc.property(
        fc.array(ascendingList, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 500 }),
        (lists, limit) => {
          const sorted = [...lists].sort((a, b) => a.length - b.length);
          const naive = (sorted[0] ?? []).filter((id) => sorted.every((list) => list.includes(id)));
          expect(intersectAscending(sorted, limit)).toEqual(naive.slice(0, limit));
        },
      ),
    );
  });

  it('relies on FlexSearch keeping each posting list in insertion order, also after export and import', () => {
    const { Index, Charset } = FlexSearch;
    const options = { tokenize: 'strict', encoder: Charset.Exact, resolution: 1 } as const;
    const built = new Index(options);
    const words = ['alpha', 'beta', 'gamma', 'delta'];
    for (let id = 0; id < 3_000; id++) {
      built.add(id, words.filter((_, w) => (id * 7 + w * 13) % (w + 2) === 0).join(' ') || 'alpha');
    }
    const imported = new Index(options);
    built.export((key, data) => imported.import(key, data));
    for (const index of [built, imported]) {
      for (const word of words) {
        const list = index.search(word, { limit: 10_000 }) as number[];
        expect(list.length).toBeGreaterThan(100);
        expect(list.every((id, i) => i === 0 || id > (list[i - 1] as number))).toBe(true);
      }
    }
  });
});

describe('building country indexes by import', () => {
  it('gives FlexSearch tables that answer every word like an index it built with add, without its register of ids (property)', () => {
    const { Index, Charset } = FlexSearch;
    const options = { tokenize: 'strict', encoder: Charset.Exact, resolution: 1 } as const;
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.constantFrom('acme', 'steel', 'gas', 'oil', 'nord', 'x1'), {
            minLength: 1,
            maxLength: 4,
          }),
          {
            minLength: 1,
            maxLength: 200,
          },
        ),
        (names) => {
          const added = new Index(options);
          // The builder's tables: record ids in order, and per term (first use first) its ascending ids.
          const postings = new Map<string, number[]>();
          names.forEach((tokens, record) => {
            added.add(record, tokens.join(' '));
            for (const token of new Set(tokens))
              postings.set(token, [...(postings.get(token) ?? []), record]);
          });
          // As the builder does: the term table only (the register serves add, update, remove and contain).
          const imported = new Index(options);
          const importTable = imported.import as unknown as (key: string, data: unknown[]) => void;
          importTable.call(
            imported,
            'map',
            [...postings].map(([term, ids]) => [term, [ids]]),
          );
          // And as a snapshot restores it: through FlexSearch's own export and import.
          const restored = new Index(options);
          imported.export((key, data) => restored.import(key, data));
          for (const index of [imported, restored])
            for (const term of [...postings.keys(), 'absent'])
              expect(index.search(term, { limit: 1_000 })).toEqual(added.search(term, { limit: 1_000 }));
        },
      ),
      { numRuns: 50 },
    );
  });
});

describe('ranking candidates', () => {
  it('keeps exactly the head of sorting every record by weight, ties by lower record (against a full sort)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(300), fc.integer({ min: 0, max: 6 })), { maxLength: 500 }),
        fc.integer({ min: 1, max: 40 }),
        (entries, take) => {
          const weights = new Map(entries.map(([record, weight]) => [record, weight / 2]));
          const sorted = [...weights].sort((a, b) => b[1] - a[1] || a[0] - b[0]).map(([record]) => record);
          expect(topByWeight(weights, take)).toEqual(sorted.slice(0, take));
        },
      ),
    );
  });
});
