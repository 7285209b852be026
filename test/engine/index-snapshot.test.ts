import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { typo } from '../../src/data/generate-queries.js';
import { registryEntities } from '../../src/data/generate-registry.js';
import { Random } from '../../src/data/random.js';
import { buildSlotBytes, putInSlot } from '../../src/engine/chunk-slots.js';
import {
  type CertifiedEntityRecord,
  createMatcher,
  type InvalidEntity,
  loadMatcherSnapshot,
  type Matcher,
  MatcherBuilder,
  type MatcherOptions,
  SnapshotFileError,
} from '../../src/engine/index.js';
import { indexedFieldsOf, prepareIndexChunk, WordDictionary } from '../../src/engine/index-chunk.js';

const directory = mkdtempSync(join(tmpdir(), 'certmatch-snapshot-'));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

const entities = [...registryEntities({ count: 3000, seed: 'snapshot', certificates: false })];

/** Queries that reach every tier of retrieval: whole names, English names, typos, reorders, identifiers. */
function queriesFor(registry: readonly CertifiedEntityRecord[]) {
  const random = new Random('snapshot-queries');
  return registry.slice(0, 600).map((entity, i) => {
    const words = entity.certified_entity_name.split(' ');
    const name = (() => {
      switch (i % 5) {
        case 0:
          return entity.certified_entity_name.toUpperCase();
        case 1:
          return entity.certified_entity_english_name ?? entity.certified_entity_name;
        case 2:
          return words.map((word) => (word.length > 4 ? typo(random, word) : word)).join(' ');
        case 3:
          return [...words].reverse().join(' ');
        default:
          return `${words[0]} Holdings`;
      }
    })();
    const vat = i % 7 === 0 ? entity.company_identifiers?.vat : undefined;
    return {
      company_name: name,
      company_country: entity.country,
      match_rate: 30,
      ...(vat === undefined ? {} : { company_vat: vat }),
    };
  });
}

describe('index snapshots', () => {
  it('load into a matcher that answers every query exactly as the one that was saved', async () => {
    const built = await createMatcher({ entities }, { threads: 0 });
    const path = join(directory, 'same.index');
    built.saveSnapshot(path, 'tag-1');
    const loaded = loadMatcherSnapshot(path, 'tag-1', { threads: 0 });
    expect(loaded.stats).toEqual(built.stats);
    const queries = queriesFor(entities);
    const options = { top: 5, explain: true };
    expect(await loaded.matchCompanies(queries, options)).toEqual(
      await built.matchCompanies(queries, options),
    );
    await Promise.all([built.close(), loaded.close()]);
  });

  it('hold the whole index: a loaded matcher saves a byte-identical snapshot', async () => {
    const built = await createMatcher({ entities }, { threads: 0 });
    const first = join(directory, 'first.index');
    const second = join(directory, 'second.index');
    built.saveSnapshot(first, 'tag');
    const loaded = loadMatcherSnapshot(first, 'tag', { threads: 0 });
    loaded.saveSnapshot(second, 'tag');
    expect(readFileSync(second).equals(readFileSync(first))).toBe(true);
    await Promise.all([built.close(), loaded.close()]);
  });

  it('come out byte for byte the same however the index was built: workers or not, records, file or one by one', async () => {
    // Across chunk boundaries (1,024 entities), with problems the build must skip: a duplicate ce_id, an
    // entity without a name, a line that is not JSON, blank lines.
    // Enough chunks that a worker is handed them out of order (Piscina does not keep a worker's tasks in
    // submission order), which the word dictionaries must survive.
    const many = [...registryEntities({ count: 7_000, seed: 'build-ways', certificates: false })];
    const duplicate = { ...(many[1_500] as CertifiedEntityRecord), certified_entity_name: 'Other Name' };
    const nameless = { ...(many[10] as CertifiedEntityRecord), ce_id: 'ce_000000000000000000000000' };
    const withProblems: unknown[] = [...many.slice(0, 2_000), duplicate, nameless, ...many.slice(2_000)];
    (withProblems[2_001] as { certified_entity_name: string }).certified_entity_name = ' ';
    const file = join(directory, 'entities.ndjson');
    const lines = withProblems.map((entity) => JSON.stringify(entity));
    lines.splice(1_200, 0, '', '{"ce_id": "ce_');
    writeFileSync(file, `${lines.join('\n')}\n`);

    const snapshotOf = async (
      name: string,
      build: (onInvalidEntity: (p: InvalidEntity) => void) => Promise<Matcher>,
    ) => {
      const problems: InvalidEntity[] = [];
      const matcher = await build((problem) => problems.push(problem));
      const path = join(directory, `${name}.index`);
      matcher.saveSnapshot(path, 'same');
      await matcher.close();
      return { bytes: readFileSync(path), problems: problems.map(({ message }) => message.split(':')[0]) };
    };
    const reference = await snapshotOf('records-inline', (onInvalidEntity) =>
      createMatcher({ entities: withProblems as CertifiedEntityRecord[] }, { threads: 0, onInvalidEntity }),
    );
    expect(reference.problems).toEqual([
      `duplicate ce_id ${duplicate.ce_id}`,
      'certified_entity_name is required',
    ]);
    const builds = {
      'records-workers': (onInvalidEntity: (p: InvalidEntity) => void) =>
        createMatcher({ entities: withProblems as CertifiedEntityRecord[] }, { threads: 2, onInvalidEntity }),
      'records-one-worker': (onInvalidEntity: (p: InvalidEntity) => void) =>
        createMatcher({ entities: withProblems as CertifiedEntityRecord[] }, { threads: 1, onInvalidEntity }),
      'file-one-worker': (onInvalidEntity: (p: InvalidEntity) => void) =>
        createMatcher({ file }, { threads: 1, onInvalidEntity }),
      'file-workers': (onInvalidEntity: (p: InvalidEntity) => void) =>
        createMatcher({ file }, { threads: 2, onInvalidEntity }),
      'one-by-one': async () => {
        const builder = new MatcherBuilder({ threads: 0 });
        for (const entity of withProblems) builder.add(entity as CertifiedEntityRecord);
        return builder.build();
      },
    };
    for (const [name, build] of Object.entries(builds)) {
      const { bytes } = await snapshotOf(name, build);
      expect(bytes.equals(reference.bytes), name).toBe(true);
    }
    const fromFile = await snapshotOf('file-inline', (onInvalidEntity) =>
      createMatcher({ file }, { threads: 0, onInvalidEntity }),
    );
    expect(fromFile.problems).toEqual(['not valid JSON', ...reference.problems]);
  });

  it('come out the same when a chunk of entities is too large for its shared slot and crosses as a copy', async () => {
    // 1,024 entities with ~6 KB names prepare to more than a slot holds (chunk-slots.ts): a name is kept as
    // given for answers, whatever part of it the index reads.
    const long = [...registryEntities({ count: 1_500, seed: 'long-names', certificates: false })].map(
      (entity, i) => ({
        ...entity,
        certified_entity_name: `${entity.certified_entity_name} ${Array.from({ length: 600 }, (_, w) => `w${i}x${w}`).join(' ')}`,
      }),
    );
    const firstChunk = prepareIndexChunk(
      { entities: long.slice(0, 1_024).map(indexedFieldsOf) },
      new WordDictionary(),
    );
    expect(putInSlot(firstChunk, [new SharedArrayBuffer(buildSlotBytes)], 0)).toBeUndefined();
    const snapshot = async (threads: number) => {
      const matcher = await createMatcher({ entities: long }, { threads });
      const path = join(directory, `long-${threads}.index`);
      matcher.saveSnapshot(path, 'long');
      await matcher.close();
      return readFileSync(path);
    };
    expect((await snapshot(2)).equals(await snapshot(0))).toBe(true);
  });

  it('come out the same from an entity file of any layout: CRLF, no final newline, fields after addresses', async () => {
    // ~3 MiB, so the file is read in several chunks and some lines straddle two reads.
    const some = [...registryEntities({ count: 6_000, seed: 'layouts' })];
    const lines = some.map((entity, i) => {
      if (i % 3 !== 0) return JSON.stringify(entity);
      // Addresses and certificates first, then the fields the index reads: the cut must not lose them.
      const { certified_entity_addresses, certificates, ...read } = entity;
      return JSON.stringify({ certified_entity_addresses, certificates, ...read });
    });
    lines.splice(4_000, 0, '{"ce_id": 1,', '   ');
    const file = join(directory, 'layouts.ndjson');
    writeFileSync(file, lines.join('\r\n')); // and no newline after the last line
    const snapshot = async (name: string, matcher: Matcher) => {
      const path = join(directory, `${name}.index`);
      matcher.saveSnapshot(path, 'layouts');
      await matcher.close();
      return readFileSync(path);
    };
    const problems: InvalidEntity[] = [];
    const fromRecords = await snapshot(
      'layout-records',
      await createMatcher({ entities: some }, { threads: 0 }),
    );
    for (const threads of [0, 2]) {
      const fromFile = await createMatcher({ file }, { threads, onInvalidEntity: (p) => problems.push(p) });
      expect(fromFile.entityCount).toBe(some.length);
      expect((await snapshot(`layout-file-${threads}`, fromFile)).equals(fromRecords)).toBe(true);
    }
    expect(problems.map(({ position }) => position)).toEqual([4_001, 4_001]);
  });

  it('come out the same when the tables make room part-way for the rest of a source of known size', async () => {
    // Well past the 4,096 entities after which a file or an array is extrapolated; a generator has no known
    // size and grows its tables by doubling all the way. A ce_id met again after that point is still caught.
    const many: CertifiedEntityRecord[] = [
      ...registryEntities({ count: 20_000, seed: 'reserve', certificates: false }),
    ];
    many.splice(15_000, 0, many[100] as CertifiedEntityRecord);
    const file = join(directory, 'reserve.ndjson');
    writeFileSync(file, `${many.map((entity) => JSON.stringify(entity)).join('\n')}\n`);
    const built = async (name: string, build: (options: MatcherOptions) => Promise<Matcher>) => {
      const problems: InvalidEntity[] = [];
      const matcher = await build({ onInvalidEntity: (problem) => problems.push(problem) });
      const path = join(directory, `${name}.index`);
      matcher.saveSnapshot(path, 'reserve');
      await matcher.close();
      return { bytes: readFileSync(path), problems };
    };
    const grown = await built('reserve-generator', (options) =>
      createMatcher(
        {
          entities: (function* () {
            yield* many;
          })(),
        },
        { ...options, threads: 0 },
      ),
    );
    expect(grown.problems.map(({ message }) => message)).toEqual([`duplicate ce_id ${many[100]?.ce_id}`]);
    const builds = {
      'array-inline': (options: MatcherOptions) =>
        createMatcher({ entities: many }, { ...options, threads: 0 }),
      'array-workers': (options: MatcherOptions) =>
        createMatcher({ entities: many }, { ...options, threads: 2 }),
      'file-workers': (options: MatcherOptions) => createMatcher({ file }, { ...options, threads: 2 }),
      // A second source is added to a builder that is not empty: it does not extrapolate from what it holds.
      'two-arrays': async ({ onInvalidEntity }: MatcherOptions) => {
        const builder = new MatcherBuilder({ threads: 2 });
        await builder.addAll(many.slice(0, 5_000), onInvalidEntity);
        await builder.addAll(many.slice(5_000), onInvalidEntity, 5_000);
        return builder.build();
      },
    };
    for (const [name, build] of Object.entries(builds)) {
      const { bytes, problems } = await built(name, build);
      expect(bytes.equals(grown.bytes), name).toBe(true);
      expect(problems.map(({ message }) => message)).toEqual(grown.problems.map(({ message }) => message));
    }
  });

  it('work with the scoring pool in worker threads', async () => {
    const built = await createMatcher({ entities }, { threads: 0 });
    const path = join(directory, 'pool.index');
    built.saveSnapshot(path, 'pool');
    const loaded = loadMatcherSnapshot(path, 'pool', { threads: 2 });
    const queries = queriesFor(entities).slice(0, 200);
    expect(await loaded.matchCompanies(queries, { top: 3 })).toEqual(
      await built.matchCompanies(queries, { top: 3 }),
    );
    await Promise.all([built.close(), loaded.close()]);
  });

  describe('are refused with SnapshotFileError, so the caller builds instead', () => {
    const small = entities.slice(0, 50);
    const saved = async (name: string, tag = 'tag') => {
      const matcher = await createMatcher({ entities: small }, { threads: 0 });
      const path = join(directory, name);
      matcher.saveSnapshot(path, tag);
      await matcher.close();
      return path;
    };
    const refusal = (path: string, tag = 'tag') => {
      try {
        loadMatcherSnapshot(path, tag, { threads: 0 });
      } catch (error) {
        expect(error).toBeInstanceOf(SnapshotFileError);
        return (error as SnapshotFileError).reason;
      }
      throw new Error('the snapshot was accepted');
    };

    it('when there is none', () => {
      expect(refusal(join(directory, 'absent.index'))).toBe('missing');
    });

    it('when it was built from other entities (another tag)', async () => {
      expect(refusal(await saved('tagged.index', 'content-1'), 'content-2')).toBe('other_source');
    });

    it('when another version of the engine wrote it', async () => {
      const path = await saved('other-engine.index');
      const bytes = readFileSync(path);
      const at = bytes.indexOf('"fingerprint":"') + '"fingerprint":"'.length;
      bytes[at] = bytes[at] === 0x30 ? 0x31 : 0x30; // one hex digit of the fingerprint changed
      writeFileSync(path, bytes);
      expect(refusal(path)).toBe('other_code');
    });

    it('when it is truncated', async () => {
      const path = await saved('truncated.index');
      const bytes = readFileSync(path);
      writeFileSync(path, bytes.subarray(0, bytes.length - 16));
      expect(refusal(path)).toBe('damaged');
    });

    it('when a byte inside it changed (its digest does not match)', async () => {
      const path = await saved('flipped.index');
      const bytes = readFileSync(path);
      const at = bytes.length - 100;
      bytes[at] = (bytes[at] as number) ^ 0x01;
      writeFileSync(path, bytes);
      expect(refusal(path)).toBe('damaged');
    });

    it('when it is not a snapshot at all', () => {
      const path = join(directory, 'not-a-snapshot.index');
      writeFileSync(path, '{"ce_id": "ce_1"}\n');
      expect(refusal(path)).toBe('damaged');
    });
  });
});
