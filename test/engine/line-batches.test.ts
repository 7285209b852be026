import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLineBatches } from '../../src/engine/index.js';
import { readWholeLineChunks } from '../../src/engine/line-batches.js';

const directory = mkdtempSync(join(tmpdir(), 'certmatch-lines-'));

async function readAll(path: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const batch of readLineBatches(path)) lines.push(...batch);
  return lines;
}

describe('reading a file as batches of lines', () => {
  it('yields the same lines as splitting the whole text at once (property)', async () => {
    const line = fc.string({ unit: fc.constantFrom('a', 'é', 'Ж', '北', '😀', ' ', '\r'), maxLength: 40 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.constantFrom('\n', '\r\n'),
        fc.boolean(),
        async (lines, ending, finalNewline) => {
          const text = lines.join(ending) + (finalNewline && lines.length > 0 ? ending : '');
          const path = join(directory, 'p.txt');
          writeFileSync(path, text);
          const expected =
            text === '' ? [] : text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
          if (text.endsWith('\n')) expected.pop();
          expect(await readAll(path)).toEqual(expected);
        },
      ),
      { numRuns: 300 },
    );
  });
  it('keeps multibyte characters whole across 1 MiB chunk boundaries', async () => {
    const path = join(directory, 'big.txt');
    const line = `${'北'.repeat(1000)}😀`;
    writeFileSync(path, `${Array.from({ length: 1200 }, () => line).join('\n')}\n`);
    const lines = await readAll(path);
    expect(lines).toHaveLength(1200);
    expect(lines.every((l) => l === line)).toBe(true);
  });

  it('cuts a file into chunks of whole lines that join back into the file, counting its lines, each chunk free to be transferred', async () => {
    // Lines from a few bytes to over a chunk (1 MiB), so that chunks end anywhere and one line spans several.
    const lengths = [3, 700_000, 10, 1_500_000, 0, 900_000, 5, 2_000_000, 7];
    for (const finalNewline of [true, false]) {
      const text =
        lengths.map((length, i) => String(i % 10).repeat(length)).join('\n') + (finalNewline ? '\n' : '');
      const path = join(directory, `chunks-${finalNewline}.txt`);
      writeFileSync(path, text);
      const chunks: Buffer[] = [];
      let lines = 0;
      for await (const chunk of readWholeLineChunks(path)) {
        chunks.push(Buffer.from(chunk.bytes));
        lines += chunk.lines;
        // As the index build and the import do: the chunk's memory moves to a worker, detached here.
        const { buffer } = chunk.bytes;
        structuredClone(buffer, { transfer: [buffer as ArrayBuffer] });
        expect(chunk.bytes.length).toBe(0);
      }
      expect(Buffer.concat(chunks).toString('latin1')).toBe(text);
      expect(lines).toBe(lengths.length);
      // Every chunk ends at a line break, but the last when the file does not.
      expect(chunks.slice(0, -1).every((chunk) => chunk[chunk.length - 1] === 0x0a)).toBe(true);
    }
  });
});
