import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readLineBatches } from '../../src/engine/index.js';

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
});
