import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SnapshotWriter } from '../../src/engine/index-snapshot.js';
import { hashKey, PackedKeyWriter, StringHashIndex } from '../../src/engine/string-hash-index.js';

/** A table as a snapshot would hold it, section by section: its layout, not only its answers. */
function saved(index: StringHashIndex): string[] {
  const sections: string[] = [];
  const snapshot = {
    bytes: (name: string, view: ArrayBufferView) => {
      const bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
      sections.push(`${name} ${bytes.toString('base64')}`);
    },
  };
  index.saveTo(snapshot as unknown as SnapshotWriter, 'keys');
  return sections;
}

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
  it('adds a key from packed bytes only when it is absent, keeping its first value (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 3, unit: 'binary' }), { maxLength: 3000 }), (keys) => {
        const writer = new PackedKeyWriter();
        for (const key of keys) writer.key(key);
        const { keys: packed, hashes } = writer.toData();
        const index = new StringHashIndex();
        const first = new Map<string, number>();
        keys.forEach((key, i) => {
          expect(index.addPackedIfAbsent(packed, i, hashes[i] as number, i)).toBe(!first.has(key));
          if (!first.has(key)) first.set(key, i);
        });
        for (const [key, value] of first) expect(index.get(key)).toEqual([value]);
        expect(index.size).toBe(first.size);
      }),
      { numRuns: 60 },
    );
  });

  it('ends the same whether new pairs are appended from packed bytes, in ranges, or added one by one (property)', () => {
    fc.assert(
      fc.property(
        // Enough pairs to grow past the first bucket table (1,536 entries) at least once.
        fc.array(fc.tuple(fc.string({ maxLength: 4, unit: 'binary' }), fc.nat(5)), {
          minLength: 1_000,
          maxLength: 3_000,
          size: 'max',
        }),
        fc.array(fc.nat(3_000), { maxLength: 12 }),
        fc.boolean(),
        (pairs, cuts, skipEmpty) => {
          // Appending is for pairs known to be new: make each value unique, as a record id is.
          const unique = pairs.map(([key, value], i) => [key, value * 10_000 + i] as const);
          const added = new StringHashIndex();
          for (const [key, value] of unique) if (!(skipEmpty && key === '')) added.add(key, value);
          const writer = new PackedKeyWriter();
          for (const [key] of unique) writer.key(key);
          const { keys: packed, hashes } = writer.toData();
          const values = unique.map(([, value]) => value);
          // Ranges of any length, empty ones included, as a build's chunks and runs cut them.
          const ends = [...cuts.map((cut) => Math.min(cut, unique.length)), unique.length].sort(
            (a, b) => a - b,
          );
          const appended = new StringHashIndex();
          let first = 0;
          for (const end of ends) {
            appended.appendRangeFrom(packed, first, end, hashes, values.slice(first, end), skipEmpty);
            first = end;
          }
          appended.link(); // as a builder does; reading would link it too
          // Every table as a snapshot would hold it: the layout, not only the answers, is the same.
          expect(saved(appended)).toEqual(saved(added));
          for (const [key] of unique) expect(appended.get(key)).toEqual(added.get(key));
        },
      ),
      // A failing case is large; shrinking it would take minutes, and the first one already says enough.
      { numRuns: 20, endOnFailure: true },
    );
  });

  it('ends the same when its buckets were reserved for more or fewer appended entries than came (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12_000 }),
        fc.integer({ min: 1, max: 4_000 }),
        fc.double({ min: 0.5, max: 8, noNaN: true }),
        (total, reservedAt, expectedFactor) => {
          const reserveAt = Math.min(reservedAt, total);
          const writer = new PackedKeyWriter();
          for (let i = 0; i < total; i++) writer.key(`key ${i % 997} ${i}`);
          const { keys: packed, hashes } = writer.toData();
          const values = Array.from({ length: total }, (_, i) => i);
          const plain = new StringHashIndex();
          plain.appendRangeFrom(packed, 0, total, hashes, values);
          const reserved = new StringHashIndex();
          reserved.appendRangeFrom(packed, 0, reserveAt, hashes, values);
          // As an index build reserves: room with a quarter to spare, buckets for the extrapolation.
          reserved.reserveScaled(expectedFactor * 1.25, expectedFactor);
          // In chunks, as a build appends them.
          for (let first = reserveAt; first < total; first += 1_024) {
            const end = Math.min(first + 1_024, total);
            reserved.appendRangeFrom(packed, first, end, hashes, values.slice(first, end));
          }
          plain.link();
          reserved.link();
          expect(saved(reserved)).toEqual(saved(plain));
          expect(reserved.get(`key ${(total - 1) % 997} ${total - 1}`)).toEqual([total - 1]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('appends a word without one of its letters as it appends that shorter word (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9]{1,12}$/), { minLength: 1, maxLength: 400 }),
        (words) => {
          const writer = new PackedKeyWriter();
          const values: number[] = [];
          words.forEach((word, w) => {
            for (let at = 0; at < word.length; at++) {
              writer.key(word.slice(0, at) + word.slice(at + 1));
              values.push(w);
            }
          });
          const { keys: packed, hashes } = writer.toData();
          const made = new StringHashIndex();
          made.appendRangeFrom(packed, 0, values.length, hashes, values);
          const written = new StringHashIndex();
          words.forEach((word, w) => {
            for (let at = 0; at < word.length; at++) written.appendWithout(word, at, w);
          });
          expect(saved(written)).toEqual(saved(made));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('writes keys from parts as the UTF-8 bytes and the hash of the joined key, or no hash when unhashed (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.string({ unit: 'binary', maxLength: 12 }), { maxLength: 4 })),
        fc.boolean(),
        (keys, hashed) => {
          const writer = new PackedKeyWriter({ hashed });
          for (const parts of keys) {
            for (const part of parts) writer.text(part);
            writer.end();
          }
          expect(writer.size).toBe(keys.length);
          const { keys: packed, hashes } = writer.toData();
          expect(hashes.length).toBe(hashed ? keys.length : 0);
          keys.forEach((parts, i) => {
            const key = parts.join('');
            const bytes = packed.bytes.subarray(packed.offsets[i], packed.offsets[i + 1]);
            expect(Buffer.from(bytes).equals(Buffer.from(key, 'utf8'))).toBe(true);
            if (hashed) expect(hashes[i]).toBe(hashKey(key));
          });
        },
      ),
    );
  });

  it('writes words joined by a separator, or by none, as the joined key (property)', () => {
    const word = fc.stringMatching(/^[a-z0-9]{1,8}$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(word, { maxLength: 5 }), fc.constantFrom(-1, 0x20))),
        fc.boolean(),
        (keys, hashed) => {
          const writer = new PackedKeyWriter({ hashed });
          for (const [words, separator] of keys) writer.text('7:').words(words, separator).end();
          const { keys: packed, hashes } = writer.toData();
          keys.forEach(([words, separator], i) => {
            const key = `7:${words.join(separator < 0 ? '' : ' ')}`;
            expect(
              Buffer.from(packed.bytes.subarray(packed.offsets[i], packed.offsets[i + 1])).toString(),
            ).toBe(key);
            if (hashed) expect(hashes[i]).toBe(hashKey(key));
          });
        },
      ),
    );
    expect(() => new PackedKeyWriter().words(['müller'], 0x20)).toThrow(RangeError);
  });

  it('keeps non-ASCII keys apart from their look-alikes', () => {
    const index = new StringHashIndex();
    index.add('Müller', 1);
    index.add('Muller', 2);
    index.add('Мюллер', 3);
    expect([index.get('Müller'), index.get('Muller'), index.get('Мюллер')]).toEqual([[1], [2], [3]]);
  });
});
