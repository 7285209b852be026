import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DocumentFile, DocumentFileError, DocumentWindows } from '../../src/catalog/document-file.js';

const directory = mkdtempSync(join(tmpdir(), 'certmatch-documents-'));

/** A file of `count` "documents" of ~3.7 KB, each starting with its number, and where each one is. */
function documentsFile(name: string, count: number): { file: DocumentFile; extents: [number, number][] } {
  const file = new DocumentFile(join(directory, name));
  const extents: [number, number][] = [];
  let at = 0;
  for (let i = 0; i < count; i++) {
    const text = `{"n":${i},"pad":"${'x'.repeat(3_600 + (i % 200))}"}`;
    file.append(Buffer.from(text));
    extents.push([at, text.length]);
    at += text.length;
  }
  return { file, extents };
}

describe('the documents file', () => {
  it('reads back what was appended, and says so when a read runs past its end', () => {
    const { file, extents } = documentsFile('plain', 10);
    const [at, length] = extents[7] as [number, number];
    expect(file.read(at, length).toString()).toMatch(/^\{"n":7,/);
    expect(() => file.read(file.size - 10, 20)).toThrow(DocumentFileError);
    file.close();
  });

  it('reads interleaved runs through its windows as direct reads would, refilling a window once per stretch', () => {
    // 3,000 documents (~11 MB): the entity_id order of a catalog whose every third entity was updated later
    // reads the first 2,000 in order, with the last 1,000 (appended after them) interleaved.
    const { file, extents } = documentsFile('interleaved', 3_000);
    const order: number[] = [];
    for (let i = 0; i < 1_000; i++) order.push(2_000 + i, 2 * i, 2 * i + 1);
    const windows = new DocumentWindows(file);
    for (const i of order) {
      const [at, length] = extents[i] as [number, number];
      expect(windows.text(at, length)).toBe(file.read(at, length).toString('utf8'));
    }
    // ~11 MB through 2 MiB windows: about 6 fills, where one window would have refilled for every read.
    expect(windows.fills).toBeLessThan(12);
    file.close();
  });

  it('returns exactly the bytes asked for, in any order of reads (property)', () => {
    const { file, extents } = documentsFile('random', 1_500);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(extents.length - 1), fc.nat(500), fc.nat(3_000)), { maxLength: 200 }),
        (reads) => {
          const windows = new DocumentWindows(file);
          for (const [i, skip, take] of reads) {
            const [start, length] = extents[i] as [number, number];
            const at = start + Math.min(skip, length);
            const count = Math.min(take, length - (at - start));
            expect(windows.text(at, count)).toBe(file.read(at, count).toString('utf8'));
          }
        },
      ),
      { numRuns: 50 },
    );
    file.close();
  });
});
