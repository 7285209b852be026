import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fromBuild, fromSource, projectRoot as root, runCertmatch } from './support/run-certmatch.js';

const certmatch = (entry: string[], args: string[]) => runCertmatch(args, entry);

describe('certmatch on the command line', () => {
  const directory = mkdtempSync(join(tmpdir(), 'certmatch-cli-'));
  const entities = join(directory, 'entities.ndjson');
  const queries = join(directory, 'queries.ndjson');

  beforeAll(async () => {
    const generated = await certmatch(fromSource, [
      'data',
      'generate',
      '--count',
      '400',
      '--seed',
      'cli',
      '--out',
      entities,
      '--queries-out',
      queries,
      '--queries',
      '60',
    ]);
    expect(generated.code).toBe(0);
  });

  it('generates the same registry for the same seed', async () => {
    const again = join(directory, 'again.ndjson');
    await certmatch(fromSource, ['data', 'generate', '--count', '400', '--seed', 'cli', '--out', again]);
    expect(readFileSync(again, 'utf8')).toBe(readFileSync(entities, 'utf8'));
  });

  for (const [how, entry] of [
    ['from source', fromSource],
    ['from the build', fromBuild],
  ] as const) {
    it(`matches a query file ${how}, one output line per input line, a bad line getting an error`, async () => {
      if (how === 'from the build' && !existsSync(join(root, 'dist/cli/main.js'))) {
        throw new Error('dist/ is missing: the test command builds it first (npm test)');
      }
      const input = join(directory, `input-${how}.ndjson`);
      const output = join(directory, `output-${how}.ndjson`);
      writeFileSync(
        input,
        `${readFileSync(queries, 'utf8')}{not json\n{"company_name":"x","company_country":"Atlantis"}\n`,
      );
      const result = await certmatch(entry, [
        'match',
        '--data',
        entities,
        '--input',
        input,
        '--output',
        output,
        '--threads',
        '2',
        '--top',
        '2',
      ]);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('Accuracy on');
      const queryCount = readFileSync(queries, 'utf8').trim().split('\n').length;
      const lines = readFileSync(output, 'utf8')
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line));
      expect(lines).toHaveLength(queryCount + 2);
      expect(lines.map((line) => line.companies_request_index)).toEqual([...Array(queryCount + 2).keys()]);
      expect(lines[queryCount].error.code).toBe('invalid_json');
      expect(lines[queryCount + 1].error.code).toBe('validation_error');
      expect(lines.slice(0, queryCount).every((line) => Array.isArray(line.results))).toBe(true);
    });

    it(`imports the entity file into a catalog ${how}, reporting a bad line, and matches against it`, async () => {
      const withBadLine = join(directory, `import-${how}.ndjson`);
      writeFileSync(withBadLine, `{oops\n${readFileSync(entities, 'utf8')}`);
      const catalog = join(directory, `catalog-${how}.db`);
      const imported = await certmatch(entry, ['import', '--data', withBadLine, '--catalog', catalog]);
      expect(imported.code).toBe(0);
      expect(imported.stderr).toContain(`${withBadLine}:1: skipped: not valid JSON`);
      expect(imported.stderr).toContain('Imported 400 entities');
      expect(imported.stderr).not.toContain('reclaims');
      // The batch job saves the document locations, so that the service's first start does not read them.
      expect(imported.stderr).toContain(
        `Saved the document locations for the service to ${catalog}.locations`,
      );
      expect(existsSync(`${catalog}.locations`)).toBe(true);
      // Every entity newer: replaced documents are half the documents file, and it says so.
      const newer = join(directory, `import-newer-${how}.ndjson`);
      writeFileSync(
        newer,
        readFileSync(entities, 'utf8')
          .trim()
          .split('\n')
          .map((line) => {
            const entity = JSON.parse(line);
            return `${JSON.stringify({ ...entity, updated_at: (entity.updated_at ?? 0) + 1 })}\n`;
          })
          .join(''),
      );
      const reimported = await certmatch(entry, ['import', '--data', newer, '--catalog', catalog]);
      expect(reimported.stderr).toContain('Imported 400 entities');
      expect(reimported.stderr).toContain('Importing the entity file into a new catalog reclaims it');
      const output = join(directory, `catalog-output-${how}.ndjson`);
      const matched = await certmatch(entry, [
        'match',
        '--catalog',
        catalog,
        '--input',
        queries,
        '--output',
        output,
      ]);
      expect(matched.code).toBe(0);
      expect(matched.stderr).toContain('Accuracy on');
    });
  }

  it('scores two names and explains the score', async () => {
    const plain = await certmatch(fromSource, ['score', 'ACME ENGINEERING LTD.', 'Acme Engineering Limited']);
    expect(plain.stdout.trim()).toBe('100\texactly_matched');
    const explained = await certmatch(fromSource, ['score', 'Nordic Gas AS', 'Nordic Oil AS', '--explain']);
    expect(JSON.parse(explained.stdout).penalties[0].code).toBe('industry_word_mismatch');
  });

  it('scores a file of pairs, reporting a bad line and going on', async () => {
    const pairs = join(directory, 'pairs.ndjson');
    writeFileSync(pairs, '{"a":"Fund III LP","b":"Fund IV LP"}\nnope\n{"a":"Acme Ltd","b":"Acme Limited"}\n');
    const result = await certmatch(fromSource, ['score', '--input', pairs]);
    const lines = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines[0].match_type).not.toBe('exactly_matched');
    expect(lines[1]).toMatchObject({ line: 2 });
    expect(lines[2]).toMatchObject({ score: 100, match_type: 'exactly_matched' });
  });

  it('refuses a wrong command line with exit code 2 and the usage text', async () => {
    const result = await certmatch(fromSource, ['match', '--data', entities]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('--input is required');
    expect(result.stderr).toContain('Usage: certmatch match');
  });

  it('reports a missing file with exit code 1', async () => {
    const result = await certmatch(fromSource, [
      'match',
      '--data',
      join(directory, 'nope.ndjson'),
      '--input',
      queries,
      '--output',
      join(directory, 'x'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('ENOENT');
  });

  it('reports a catalog file that is not a database in one line with exit code 1, no stack trace', async () => {
    const notADatabase = join(directory, 'notes.db');
    writeFileSync(notADatabase, 'not SQLite\n'.repeat(200));
    const result = await certmatch(fromSource, ['import', '--data', entities, '--catalog', notADatabase]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `certmatch import: cannot open the catalog ${notADatabase}: file is not a database`,
    );
  });

  it('refuses a catalog that does not exist instead of creating an empty one', async () => {
    const missing = join(directory, 'no-such-catalog.db');
    const result = await certmatch(fromSource, [
      'match',
      '--catalog',
      missing,
      '--input',
      queries,
      '--output',
      join(directory, 'y'),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no catalog at');
    expect(existsSync(missing)).toBe(false);
  });

  it('serves the entity file from the build with a demo key, answers a verification, and stops cleanly on SIGTERM; a restart loads the index snapshot', async () => {
    const serve = async () => {
      const child = spawn(
        process.execPath,
        [
          ...fromBuild,
          'serve',
          '--data',
          entities,
          '--catalog',
          join(directory, 'serve-catalog.db'),
          '--ledger',
          join(directory, 'serve-ledger.db'),
          '--port',
          '0',
          '--threads',
          '1',
          '--demo',
          '--quiet',
        ],
        { cwd: root },
      );
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const exited = once(child, 'exit');
      await vi.waitFor(() => expect(stderr).toContain('Try:'), { timeout: 30_000, interval: 100 });
      const url = /at (http:\/\/[\d.:]+) /.exec(stderr)?.[1];
      const key = /Demo API key \(shown once\): (\S+)/.exec(stderr)?.[1];
      const [first] = readFileSync(entities, 'utf8')
        .split('\n')
        .map((line) => JSON.parse(line || '{}'));
      const response = await fetch(`${url}/company`, {
        method: 'POST',
        headers: { 'x-http-authorization': key as string, 'content-type': 'application/json' },
        body: JSON.stringify({ company_name: first.certified_entity_name, company_country: first.country }),
      });
      child.kill('SIGTERM');
      const [code] = await exited;
      return {
        stderr,
        code,
        status: response.status,
        remaining: response.headers.get('x-credits-remaining'),
      };
    };
    const first = await serve();
    expect(first).toMatchObject({ code: 0, status: 200, remaining: '99' });
    expect(first.stderr).toContain('Matching index built');
    expect(existsSync(join(directory, 'serve-catalog.db.index'))).toBe(true);
    // The same entity file again: the import changes nothing, so the snapshot is current. The demo account
    // is the same too, and the company already verified is free inside the grace period.
    const second = await serve();
    expect(second).toMatchObject({ code: 0, status: 200, remaining: '99' });
    expect(second.stderr).toContain('Matching index loaded from its snapshot');
  });

  it('tells the truth in --help', async () => {
    const bulk = await certmatch(fromSource, ['bulk', '--help']);
    expect(bulk.stdout).toContain('--resume');
    expect(bulk.stdout).toContain('--quote');
    const missingKey = await certmatch(fromSource, [
      'bulk',
      '--input',
      'a.csv',
      '--output',
      'b.csv',
      '--data',
      'x',
    ]);
    expect(missingKey.code).toBe(2);
    expect(missingKey.stderr).toContain('--api-key is required');
    const serve = await certmatch(fromSource, ['serve', '--help']);
    expect(serve.stdout).toContain('--demo');
    expect(serve.stdout).toContain('/docs');
    const result = await certmatch(fromSource, ['match', '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--match-rate N');
  });
});
