import { mkdirSync, mkdtempSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import {
  Catalog,
  CatalogBusyError,
  CatalogFormatError,
  CatalogOpenError,
  DocumentFileError,
  indexSnapshotPath,
  openCatalogMatcher,
} from '../../src/catalog/index.js';
import { registryEntities } from '../../src/data/generate-registry.js';
import { createMatcher } from '../../src/engine/index.js';

const directory = mkdtempSync(join(tmpdir(), 'certmatch-catalog-'));
const entities = [...registryEntities({ count: 300, seed: 'catalog' })];
type Entity = (typeof entities)[number];
const file = (name: string, lines: string[]) => {
  const path = join(directory, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
};
/** A new catalog `NAME.db` with every sample entity imported (from `NAME.ndjson`). */
async function catalogOfAll(name: string): Promise<Catalog> {
  const catalog = new Catalog(join(directory, `${name}.db`));
  await catalog.importFile(
    file(
      `${name}.ndjson`,
      entities.map((entity) => JSON.stringify(entity)),
    ),
  );
  return catalog;
}

describe('the certificate catalog', () => {
  it('imports every good line, reports each bad line with its number, and skips it', async () => {
    const catalog = new Catalog(join(directory, 'a.db'));
    const problems: { line: number; message: string }[] = [];
    const lines = entities.map((entity) => JSON.stringify(entity));
    lines.splice(
      10,
      0,
      '{not json',
      JSON.stringify({ ...entities[0], ce_id: 'nope' }),
      JSON.stringify({ ...entities[0], ce_id: 'ce_AAAAAAAAAAAAAAAAAAAAAAAA', country: 'Atlantis' }),
    );
    const summary = await catalog.importFile(file('a.ndjson', lines), {
      onBadLine: (problem) => problems.push(problem),
    });
    expect(summary).toMatchObject({ imported: 300, skipped: 3 });
    expect(problems.map((problem) => problem.line)).toEqual([11, 12, 13]);
    expect(catalog.entityCount).toBe(300);
    catalog.close();
  });

  it('stores a certificate covering several entities once, and returns it with each', async () => {
    const shared = entities.find((entity) =>
      entity.certificates?.some((c) => c.certified_entities.length > 1),
    );
    expect(shared, 'the generator makes group certificates').toBeDefined();
    const certificate = shared?.certificates?.find((c) => c.certified_entities.length > 1);
    const catalog = await catalogOfAll('b');
    const certificateIds = new Set(
      entities.flatMap((entity) => entity.certificates?.map((c) => c.cert_id) ?? []),
    );
    expect(catalog.certificateCount).toBe(certificateIds.size);
    for (const covered of certificate?.certified_entities ?? []) {
      expect(catalog.entity(covered.ce_id)?.certificates.map((c) => c.cert_id)).toContain(
        certificate?.cert_id,
      );
    }
    expect(catalog.certificate(certificate?.cert_id as string)).toEqual(certificate);
    // The wire form is the same entity, assembled without parsing the certificates.
    const ceId = certificate?.certified_entities[0]?.ce_id as string;
    expect(JSON.parse(catalog.entityJson(ceId) as string)).toEqual(catalog.entity(ceId));
    expect(JSON.parse(catalog.certificateJson(certificate?.cert_id as string) as string)).toEqual(
      certificate,
    );
    catalog.close();
  });

  it('upserts by updated_at: a newer line replaces, an older or equal one changes nothing', async () => {
    const catalog = new Catalog(join(directory, 'c.db'));
    const original = entities[5] as (typeof entities)[number];
    await catalog.importFile(file('c1.ndjson', [JSON.stringify(original)]));
    const older = {
      ...original,
      certified_entity_name: 'Older Name Ltd',
      updated_at: (original.updated_at ?? 0) - 1,
    };
    expect(await catalog.importFile(file('c2.ndjson', [JSON.stringify(older)]))).toMatchObject({
      imported: 0,
      unchanged: 1,
    });
    expect(catalog.entity(original.ce_id)?.certified_entity_name).toBe(original.certified_entity_name);
    const newer = {
      ...original,
      certified_entity_name: 'Newer Name Ltd',
      updated_at: (original.updated_at ?? 0) + 1,
    };
    expect(await catalog.importFile(file('c3.ndjson', [JSON.stringify(newer)]))).toMatchObject({
      imported: 1,
    });
    expect(catalog.entity(original.ce_id)?.certified_entity_name).toBe('Newer Name Ltd');
    catalog.close();
  });

  it('appends only the documents an import changes, and says how much of its documents file is current', async () => {
    const catalog = new Catalog(join(directory, 'usage.db'));
    const lines = (delta: number) =>
      entities.map((entity) => JSON.stringify({ ...entity, updated_at: (entity.updated_at ?? 0) + delta }));
    await catalog.importFile(file('usage-1.ndjson', lines(0)));
    const first = catalog.documentBytes;
    expect(first.current).toBeGreaterThan(0);
    expect(first.file).toBe(first.current);
    // Older lines change nothing, so nothing is appended.
    await catalog.importFile(file('usage-2.ndjson', lines(-1)));
    expect(catalog.documentBytes).toEqual(first);
    // Newer ones replace every document: the old ones stay in the file, no longer current.
    await catalog.importFile(file('usage-3.ndjson', lines(1)));
    const second = catalog.documentBytes;
    expect(second.file).toBe(first.file + second.current);
    const [sample] = entities as [(typeof entities)[number]];
    expect(catalog.entity(sample.ce_id)?.updated_at).toBe((sample.updated_at ?? 0) + 1);
    catalog.close();
  });

  it('gives the matching index every entity as last imported, updated ones included, in import order', async () => {
    const catalog = await catalogOfAll('heads');
    // Every third entity renamed: their documents now sit at the end of the documents file, out of order.
    const renamed = entities.map((entity, i) =>
      i % 3 === 0
        ? {
            ...entity,
            certified_entity_name: `${entity.certified_entity_name} Renamed`,
            updated_at: (entity.updated_at ?? 0) + 1,
          }
        : entity,
    );
    await catalog.importFile(
      file(
        'heads-2.ndjson',
        renamed.filter((_, i) => i % 3 === 0).map((entity) => JSON.stringify(entity)),
      ),
    );
    const heads = [...catalog.entitiesForIndex()];
    expect(heads.map((head) => head.ce_id)).toEqual(entities.map((entity) => entity.ce_id));
    expect(heads.map((head) => head.certified_entity_name)).toEqual(
      renamed.map((entity) => entity.certified_entity_name),
    );
    expect(heads.every((head) => !('certificates' in head))).toBe(true);
    catalog.close();
  });

  it('builds the same matcher as the entity file does, without certificates in the heap', async () => {
    const catalog = new Catalog(join(directory, 'd.db'));
    const path = file(
      'd.ndjson',
      entities.map((entity) => JSON.stringify(entity)),
    );
    await catalog.importFile(path);
    // As the service builds it: the catalog's documents as text, parsed in the build's worker threads.
    const fromCatalog = await createMatcher({ lines: catalog.entityLinesForIndex() }, { threads: 2 });
    const fromFile = await createMatcher({ file: path }, { threads: 0 });
    const queries = entities
      .slice(0, 100)
      .map((e) => ({ company_name: e.certified_entity_name, company_country: e.country, match_rate: 30 }));
    expect(await fromCatalog.matchCompanies(queries, { top: 3 })).toEqual(
      await fromFile.matchCompanies(queries, { top: 3 }),
    );
    expect([...catalog.entitiesForIndex()].every((entity) => entity.certificates === undefined)).toBe(true);
    await Promise.all([fromCatalog.close(), fromFile.close()]);
    catalog.close();
  });

  it('numbers lines right across read chunks, with CRLF endings, blank lines and no final newline', async () => {
    // ~2.5 MiB: the reader hands the parser several chunks, each ending at a line boundary.
    const many = [...registryEntities({ count: 900, seed: 'catalog-chunks' })];
    const lines = many.map((entity) => JSON.stringify(entity));
    lines.splice(400, 0, '', '{"broken": ');
    lines.splice(800, 0, JSON.stringify({ ...many[0], country: 'Atlantis' }));
    const path = join(directory, 'chunks.ndjson');
    writeFileSync(path, lines.join('\r\n'));
    expect(statSync(path).size).toBeGreaterThan(2 * 1024 * 1024);
    const catalog = new Catalog(join(directory, 'chunks.db'));
    const problems: number[] = [];
    const summary = await catalog.importFile(path, { onBadLine: (problem) => problems.push(problem.line) });
    expect(summary).toMatchObject({ lines: 903, imported: 900, skipped: 2 });
    expect(problems).toEqual([402, 801]);
    const last = many.at(-1) as (typeof many)[number];
    expect(catalog.entity(last.ce_id)?.certified_entity_name).toBe(last.certified_entity_name);
    catalog.close();
  });

  it('refuses a catalog file of another format with a typed error instead of misreading it', () => {
    const path = join(directory, 'old-format.db');
    const old = new Database(path);
    old.exec('CREATE TABLE entities (ce_id TEXT PRIMARY KEY, certified_entity_name TEXT)');
    old.close();
    expect(() => new Catalog(path)).toThrow(CatalogFormatError);
  });

  it('refuses a file that is not a database, or a path in no directory, with a typed error naming the file', () => {
    const text = join(directory, 'not-a-database.db');
    writeFileSync(text, 'certified entities, but not SQLite\n'.repeat(200));
    expect(() => new Catalog(text)).toThrow(CatalogOpenError);
    expect(() => new Catalog(text)).toThrow(`cannot open the catalog ${text}: file is not a database`);
    expect(() => new Catalog(join(directory, 'no-such-directory', 'c.db'))).toThrow(CatalogOpenError);
    const unwritable = join(directory, 'documents-a-directory.db');
    mkdirSync(`${unwritable}.documents`);
    expect(() => new Catalog(unwritable)).toThrow(CatalogOpenError);
  });

  it('drops a certificate a newer line no longer lists: neither the entity nor a lookup returns it', async () => {
    const catalog = new Catalog(join(directory, 'dropped.db'));
    const original = entities.find(
      (entity) => (entity.certificates?.filter((c) => c.certified_entities.length === 1).length ?? 0) >= 2,
    ) as (typeof entities)[number];
    expect(original, 'the generator makes entities with two certificates of their own').toBeDefined();
    await catalog.importFile(file('dropped-1.ndjson', [JSON.stringify(original)]));
    const own = (original.certificates ?? []).filter((c) => c.certified_entities.length === 1);
    const [kept, dropped] = own as [NonNullable<(typeof own)[number]>, NonNullable<(typeof own)[number]>];
    expect(catalog.certificate(dropped.cert_id)).toEqual(dropped);
    const newer = {
      ...original,
      certificates: (original.certificates ?? []).filter((c) => c.cert_id !== dropped.cert_id),
      updated_at: (original.updated_at ?? 0) + 1,
    };
    await catalog.importFile(file('dropped-2.ndjson', [JSON.stringify(newer)]));
    expect(catalog.entity(original.ce_id)?.certificates.map((c) => c.cert_id)).not.toContain(dropped.cert_id);
    expect(catalog.certificate(dropped.cert_id)).toBeUndefined();
    expect(catalog.certificate(kept.cert_id)).toEqual(kept);
    catalog.close();
  });

  it('updates a shared certificate once, through any covered entity, for every entity it covers', async () => {
    const catalog = await catalogOfAll('shared-update');
    const holder = entities.find((entity) =>
      entity.certificates?.some((c) => c.certified_entities.length > 1),
    ) as (typeof entities)[number];
    const certificate = holder.certificates?.find((c) => c.certified_entities.length > 1) as NonNullable<
      typeof holder.certificates
    >[number];
    const changedStatus =
      certificate.certification_status === 'withdrawn' ? ('suspended' as const) : ('withdrawn' as const);
    const renewed = {
      ...certificate,
      certification_status: changedStatus,
      updated_at: (certificate.updated_at ?? 0) + 1,
    };
    const newer = {
      ...holder,
      certificates: holder.certificates?.map((c) => (c.cert_id === certificate.cert_id ? renewed : c)),
      updated_at: (holder.updated_at ?? 0) + 1,
    };
    await catalog.importFile(file('shared-2.ndjson', [JSON.stringify(newer)]));
    for (const covered of certificate.certified_entities) {
      const listed = catalog
        .entity(covered.ce_id)
        ?.certificates.find((c) => c.cert_id === certificate.cert_id);
      expect(listed?.certification_status, covered.ce_id).toBe(changedStatus);
    }
    expect(catalog.certificate(certificate.cert_id)?.certification_status).toBe(changedStatus);
    catalog.close();
  });

  it('skips a line whose updated_at is not a timestamp, or that lists a certificate twice', async () => {
    const catalog = new Catalog(join(directory, 'timestamps.db'));
    const [first, second] = entities as [(typeof entities)[number], (typeof entities)[number]];
    const problems: string[] = [];
    const summary = await catalog.importFile(
      file('timestamps.ndjson', [
        JSON.stringify({ ...first, updated_at: '2099-01-01T00:00:00Z' }),
        JSON.stringify({ ...second, certificates: [second.certificates?.[0], second.certificates?.[0]] }),
      ]),
      { onBadLine: (problem) => problems.push(problem.message) },
    );
    expect(summary).toMatchObject({ imported: 0, skipped: 2 });
    expect(problems[0]).toContain('updated_at');
    expect(problems[1]).toContain('listed twice');
    catalog.close();
  });

  it('skips a file identical to the one it last imported whole, and imports it again after another file', async () => {
    const catalog = new Catalog(join(directory, 'same-file.db'));
    const first = file(
      'same-file-a.ndjson',
      entities.slice(0, 30).map((entity) => JSON.stringify(entity)),
    );
    const other = file(
      'same-file-b.ndjson',
      entities.slice(30, 40).map((entity) => JSON.stringify(entity)),
    );
    expect(await catalog.importFile(first)).toMatchObject({ imported: 30, fileUnchanged: false });
    expect(await catalog.importFile(first)).toMatchObject({ lines: 0, imported: 0, fileUnchanged: true });
    expect(await catalog.importFile(other)).toMatchObject({ imported: 10, fileUnchanged: false });
    // The first file again: no longer the last one imported, so it is read (and its lines are unchanged).
    expect(await catalog.importFile(first)).toMatchObject({ lines: 30, unchanged: 30, fileUnchanged: false });
    // The same lines in another order: the same length, other bytes, so it is read too.
    const reordered = file(
      'same-file-a-reordered.ndjson',
      entities
        .slice(0, 30)
        .reverse()
        .map((entity) => JSON.stringify(entity)),
    );
    expect(await catalog.importFile(reordered)).toMatchObject({
      lines: 30,
      unchanged: 30,
      fileUnchanged: false,
    });
    catalog.close();
  });

  it('imports while another connection has the catalog open, which then reads every entity', async () => {
    const path = join(directory, 'shared-first-import.db');
    const catalog = new Catalog(path);
    const reader = new Database(path, { readonly: true });
    const count = reader.prepare('SELECT COUNT(*) FROM entities').pluck();
    expect(count.get()).toBe(0);
    const lines = entities.slice(0, 50).map((entity) => JSON.stringify(entity));
    expect(await catalog.importFile(file('shared-first-import.ndjson', lines))).toMatchObject({
      imported: 50,
    });
    expect(reader.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(count.get()).toBe(50);
    reader.close();
    catalog.close();
  });

  it('leaves everything in the catalog file and an empty WAL once an import returns, while still open', async () => {
    const catalog = await catalogOfAll('checkpointed');
    const { path } = catalog;
    expect(statSync(`${path}-wal`).size).toBe(0);
    expect(catalog.entityCount).toBe(300);
    catalog.close();
  });

  it('rolls back the transaction an import fails in, keeps the ones it committed, and imports again', async () => {
    const many = [...registryEntities({ count: 25_000, seed: 'interrupted', certificates: false })];
    const lines = many.map((entity) => JSON.stringify(entity));
    lines.splice(22_000, 0, '{not json');
    const data = file('interrupted.ndjson', lines);
    const path = join(directory, 'interrupted.db');
    const catalog = new Catalog(path);
    await expect(
      catalog.importFile(data, {
        onBadLine: () => {
          throw new Error('the caller gave up');
        },
      }),
    ).rejects.toThrow('the caller gave up');
    // What survives is whole transactions from the start of the file: at least the first (10,000 lines or
    // more), never the one the failure came in.
    const reader = new Database(path, { readonly: true });
    const stored = reader.prepare('SELECT ce_id FROM entities ORDER BY entity_id').pluck().all();
    expect(reader.pragma('integrity_check', { simple: true })).toBe('ok');
    reader.close();
    expect(stored.length).toBeGreaterThanOrEqual(10_000);
    expect(stored.length).toBeLessThan(22_000);
    expect(stored).toEqual(many.slice(0, stored.length).map((entity) => entity.ce_id));
    // The same catalog object is not left inside the failed transaction.
    expect(await catalog.importFile(data)).toMatchObject({ skipped: 1 });
    expect(catalog.entityCount).toBe(many.length);
    catalog.close();
  });

  it('changes its content id when an import changes something, and only then', async () => {
    const catalog = new Catalog(join(directory, 'content-id.db'));
    const lines = entities.slice(0, 20).map((entity) => JSON.stringify(entity));
    const empty = catalog.contentId;
    await catalog.importFile(file('content-id.ndjson', lines));
    const imported = catalog.contentId;
    expect(imported).not.toBe(empty);
    await catalog.importFile(file('content-id.ndjson', lines));
    expect(catalog.contentId, 'a re-import of the same lines changes nothing').toBe(imported);
    const changed = {
      ...entities[0],
      certified_entity_name: 'Renamed Holdings Ltd',
      updated_at: (entities[0]?.updated_at ?? 0) + 1,
    };
    await catalog.importFile(file('content-id-changed.ndjson', [JSON.stringify(changed)]));
    expect(catalog.contentId).not.toBe(imported);
    catalog.close();
  });

  it('builds its matching index once, then loads it from the snapshot until the entities change', async () => {
    const catalog = await catalogOfAll('snapshot');
    const query = { company_name: entities[5]?.certified_entity_name, company_country: entities[5]?.country };

    const first = await openCatalogMatcher(catalog, { threads: 0 });
    expect(first).toMatchObject({
      origin: 'built',
      snapshotProblem: expect.stringContaining('no index snapshot'),
    });
    const second = await openCatalogMatcher(catalog, { threads: 0 });
    expect(second.origin).toBe('snapshot');
    expect(await second.matcher.matchCompany(query)).toEqual(await first.matcher.matchCompany(query));

    const renamed = {
      ...entities[5],
      certified_entity_name: 'Zyxwv Quantum Plc',
      updated_at: (entities[5]?.updated_at ?? 0) + 1,
    };
    await catalog.importFile(file('snapshot-renamed.ndjson', [JSON.stringify(renamed)]));
    const third = await openCatalogMatcher(catalog, { threads: 0 });
    expect(third).toMatchObject({
      origin: 'built',
      snapshotProblem: expect.stringContaining('made from other data'),
    });
    expect(await third.matcher.matchCompany(query)).toEqual([]);
    expect(
      (await third.matcher.matchCompany({ ...query, company_name: 'Zyxwv Quantum Plc' }))[0]?.ce_id,
    ).toBe(entities[5]?.ce_id);
    await Promise.all([first.matcher.close(), second.matcher.close(), third.matcher.close()]);
    catalog.close();
  });

  it('keeps no snapshot or locations file for an in-memory catalog, and still holds its locations', async () => {
    const catalog = new Catalog(':memory:');
    await catalog.importFile(file('memory.ndjson', [JSON.stringify(entities[0])]));
    expect(indexSnapshotPath(catalog)).toBeUndefined();
    expect(catalog.locationsPath).toBeUndefined();
    expect(catalog.cacheLocations()).toMatchObject({ origin: 'catalog', saveProblem: undefined });
    expect(catalog.holdsLocations).toBe(true);
    expect(catalog.entity((entities[0] as Entity).ce_id)?.ce_id).toBe((entities[0] as Entity).ce_id);
    catalog.close();
  });

  it('refuses a second import on the same catalog while one runs, and the first completes untouched', async () => {
    const lines = entities.map((entity) => JSON.stringify(entity));
    const catalog = new Catalog(join(directory, 'busy.db'));
    const first = catalog.importFile(file('busy.ndjson', lines));
    await expect(catalog.importFile(file('busy-2.ndjson', lines.slice(0, 5)))).rejects.toMatchObject({
      name: CatalogBusyError.name,
      code: 'catalog_busy',
    });
    expect(await first).toMatchObject({ imported: entities.length });
    expect(catalog.entityCount).toBe(entities.length);
    // Once it is done, the catalog imports again.
    expect(await catalog.importFile(file('busy-3.ndjson', lines.slice(0, 5)))).toMatchObject({ lines: 5 });
    catalog.close();
  });

  it('answers every lookup the same from the document locations it holds in memory as from SQLite', async () => {
    const catalog = await catalogOfAll('locations');
    const ceIds = [...entities.map((entity) => entity.ce_id), 'ce_000000000000000000000000'];
    const certIds = [
      ...entities.flatMap((entity) => entity.certificates?.map((c) => c.cert_id) ?? []),
      'cert_000000000000000000000000',
    ];
    const answers = () => [
      ...ceIds.map((id) => catalog.entityDocument(id)?.toString('utf8')),
      ...certIds.map((id) => catalog.certificateDocument(id)?.toString('utf8')),
    ];
    const fromSqlite = answers();
    expect(fromSqlite.filter((answer) => answer === undefined)).toHaveLength(2);
    catalog.cacheLocations();
    expect(catalog.holdsLocations).toBe(true);
    expect(answers()).toEqual(fromSqlite);
    catalog.close();
  });

  it('saves the locations it reads from SQLite, loads them on the next start, and reads SQLite again once the catalog changed', async () => {
    const catalog = await catalogOfAll('locations-file');
    const [first, second] = entities as [Entity, Entity];
    const certId = first.certificates?.[0]?.cert_id as string;
    expect(catalog.cacheLocations()).toMatchObject({ origin: 'catalog', saveProblem: undefined });
    expect(statSync(`${catalog.path}.locations`).size).toBeGreaterThan(0);
    const answers = (reader: Catalog) => [
      reader.entityJson(first.ce_id),
      reader.certificateJson(certId),
      reader.entityJson('ce_000000000000000000000000'),
    ];
    const expected = answers(catalog);

    const restarted = new Catalog(catalog.path);
    expect(restarted.cacheLocations().origin).toBe('file');
    expect(restarted.holdsLocations).toBe(true);
    expect(answers(restarted)).toEqual(expected);
    restarted.close();

    // Another connection's import changes the content id: the file no longer describes the catalog.
    const writer = new Catalog(catalog.path);
    const renamed = {
      ...second,
      certified_entity_name: 'Renamed Ltd',
      updated_at: (second.updated_at ?? 0) + 1,
    };
    await writer.importFile(file('locations-file-2.ndjson', [JSON.stringify(renamed)]));
    writer.close();
    expect(catalog.cacheLocations().origin).toBe('catalog');
    expect(catalog.entity(second.ce_id)?.certified_entity_name).toBe('Renamed Ltd');
    expect(catalog.cacheLocations().origin).toBe('file');
    // The catalog's own imports keep the locations it holds current, and save them.
    const renamedAgain = {
      ...renamed,
      certified_entity_name: 'Renamed Again Ltd',
      updated_at: renamed.updated_at + 1,
    };
    await catalog.importFile(file('locations-file-3.ndjson', [JSON.stringify(renamedAgain)]));
    const afterImport = new Catalog(catalog.path);
    expect(afterImport.cacheLocations().origin).toBe('file');
    expect(afterImport.entity(second.ce_id)?.certified_entity_name).toBe('Renamed Again Ltd');
    afterImport.close();

    // A damaged file is read past, and written again.
    const bytes = readFileSync(`${catalog.path}.locations`);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
    writeFileSync(`${catalog.path}.locations`, bytes);
    expect(catalog.cacheLocations().origin).toBe('catalog');
    expect(catalog.cacheLocations().origin).toBe('file');
    expect(answers(catalog)).toEqual(expected);
    catalog.close();
  });

  it('answers from locations it read from SQLite even when it cannot save them', async () => {
    const catalog = await catalogOfAll('locations-unsaved');
    mkdirSync(`${catalog.path}.locations`);
    const cached = catalog.cacheLocations();
    expect(cached.origin).toBe('catalog');
    expect(cached.saveProblem).toMatch(/EISDIR|directory/);
    expect(catalog.holdsLocations).toBe(true);
    expect(catalog.entity((entities[0] as Entity).ce_id)?.ce_id).toBe((entities[0] as Entity).ce_id);
    catalog.close();
  });

  it('answers with what another connection imported since it took its document locations in memory', async () => {
    const path = join(directory, 'locations-other.db');
    const first = entities.find((entity) =>
      entity.certificates?.some((c) => c.certified_entities.length === 1),
    ) as (typeof entities)[number];
    const own = first.certificates?.find((c) => c.certified_entities.length === 1)?.cert_id as string;
    const writer = new Catalog(path);
    await writer.importFile(file('other-1.ndjson', [JSON.stringify(first)]));
    const reader = new Catalog(path);
    reader.cacheLocations();
    expect(reader.entity(first.ce_id)?.certified_entity_name).toBe(first.certified_entity_name);
    expect(reader.certificate(own)?.cert_id).toBe(own);
    // Renamed, and without its certificates.
    const renamed = {
      ...first,
      certified_entity_name: 'Renamed Ltd',
      certificates: [],
      updated_at: (first.updated_at ?? 0) + 1,
    };
    const second = entities.find((entity) => entity !== first) as (typeof entities)[number];
    expect(reader.holdsLocations).toBe(true);
    await writer.importFile(file('other-2.ndjson', [JSON.stringify(renamed), JSON.stringify(second)]));
    expect(reader.certificate(own)).toBeUndefined();
    expect(reader.holdsLocations).toBe(false);
    expect(reader.entity(first.ce_id)?.certified_entity_name).toBe('Renamed Ltd');
    expect(reader.entity(second.ce_id)?.ce_id).toBe(second.ce_id);
    // Its own imports keep the locations it holds current.
    const again = {
      ...renamed,
      certified_entity_name: 'Renamed Again Ltd',
      updated_at: renamed.updated_at + 1,
    };
    reader.cacheLocations();
    await reader.importFile(file('other-3.ndjson', [JSON.stringify(again)]));
    expect(reader.holdsLocations).toBe(true);
    expect(reader.entity(first.ce_id)?.certified_entity_name).toBe('Renamed Again Ltd');
    reader.close();
    writer.close();
  });

  it('answers certificate lookups from memory as SQLite does after its own import drops and moves certificates', async () => {
    const catalog = await catalogOfAll('locations-moves');
    catalog.cacheLocations();
    const owners = entities.filter((entity) =>
      entity.certificates?.some((c) => c.certified_entities.length === 1),
    );
    const [dropping, giving, taking] = owners as [Entity, Entity, Entity];
    const ownOf = (entity: Entity) =>
      entity.certificates?.filter((c) => c.certified_entities.length === 1) ?? [];
    const moved = ownOf(giving)[0] as NonNullable<Entity['certificates']>[number];
    const later = (entity: Entity) => (entity.updated_at ?? 0) + 1;
    const lines = [
      { ...dropping, certificates: [], updated_at: later(dropping) },
      {
        ...giving,
        certificates: giving.certificates?.filter((c) => c !== moved),
        updated_at: later(giving),
      },
      {
        ...taking,
        certificates: [
          ...(taking.certificates ?? []),
          {
            ...moved,
            certified_entities: [
              {
                ce_id: taking.ce_id,
                certified_entity_name: taking.certified_entity_name,
                country: taking.country,
              },
            ],
          },
        ],
        updated_at: later(taking),
      },
    ].map((entity) => JSON.stringify(entity));
    await catalog.importFile(file('locations-moves.ndjson', lines));
    expect(catalog.holdsLocations).toBe(true);

    const certIds = [dropping, giving, taking].flatMap((entity) => ownOf(entity).map((c) => c.cert_id));
    const fromMemory = certIds.map((id) => catalog.certificate(id)?.certified_entities[0]?.ce_id);
    const sqlite = new Catalog(catalog.path);
    expect(sqlite.holdsLocations).toBe(false);
    expect(fromMemory).toEqual(certIds.map((id) => sqlite.certificate(id)?.certified_entities[0]?.ce_id));
    expect(catalog.certificate(ownOf(dropping)[0]?.cert_id as string)).toBeUndefined();
    expect(catalog.certificate(moved.cert_id)?.certified_entities[0]?.ce_id).toBe(taking.ce_id);
    sqlite.close();
    catalog.close();
  });

  it('places every certificate with its latest entity when an import moves many at once', async () => {
    const catalog = await catalogOfAll('placements-rotate');
    type Certificate = NonNullable<Entity['certificates']>[number];
    const ownOf = (entity: Entity) =>
      entity.certificates?.filter((c) => c.certified_entities.length === 1) ?? [];
    const owners = entities.filter((entity) => ownOf(entity).length > 0);
    const coveredBy = (certificate: Certificate, entity: Entity): Certificate => ({
      ...certificate,
      certified_entities: [
        { ce_id: entity.ce_id, certified_entity_name: entity.certified_entity_name, country: entity.country },
      ],
    });
    // Every owner takes the next owner's own certificates (hundreds of rows already placed), then the second
    // owner, on a later line, takes the first owner's instead: those are placed twice in the file (the later
    // line wins), and what the second owner took before is listed by no entity any more.
    const takes = (entity: Entity, given: Entity, later: number) => ({
      ...entity,
      certificates: [
        ...(entity.certificates?.filter((c) => c.certified_entities.length > 1) ?? []),
        ...ownOf(given).map((c) => coveredBy(c, entity)),
      ],
      updated_at: (entity.updated_at ?? 0) + later,
    });
    const lines = owners.map((entity, i) => takes(entity, owners[(i + 1) % owners.length] as Entity, 1));
    lines.push(takes(owners[1] as Entity, owners[0] as Entity, 2));
    // Each entity ends as its last line; a certificate, with the last of those that lists it.
    const expectedOwner = new Map<string, string | undefined>();
    for (const line of lines) for (const c of ownOf(line)) expectedOwner.set(c.cert_id, undefined);
    lines.forEach((line, i) => {
      if (lines.findLastIndex((other) => other.ce_id === line.ce_id) !== i) return;
      for (const certificate of ownOf(line)) expectedOwner.set(certificate.cert_id, line.ce_id);
    });
    expect(expectedOwner.size).toBeGreaterThan(200);
    expect([...expectedOwner.values()].filter((owner) => owner === undefined).length).toBeGreaterThan(0);
    await catalog.importFile(
      file(
        'placements-rotate.ndjson',
        lines.map((line) => JSON.stringify(line)),
      ),
    );

    const answers = (from: Catalog) =>
      [...expectedOwner.keys()].map((certId) => from.certificate(certId)?.certified_entities[0]?.ce_id);
    expect(answers(catalog)).toEqual([...expectedOwner.values()]);
    const reopened = new Catalog(catalog.path);
    expect(answers(reopened)).toEqual([...expectedOwner.values()]);
    reopened.close();
    catalog.close();
  });

  it('finds an entity whose line escapes characters of its ce_id, by the plain ce_id', async () => {
    const catalog = new Catalog(join(directory, 'escaped.db'));
    const [first] = entities as [(typeof entities)[number]];
    const line = JSON.stringify(first).replace(
      `"ce_id":"${first.ce_id}"`,
      `"ce_id":"\\u0063${first.ce_id.slice(1)}"`,
    );
    expect(line).toContain('\\u0063e_');
    await catalog.importFile(file('escaped.ndjson', [line]));
    catalog.cacheLocations();
    expect(catalog.entity(first.ce_id)?.ce_id).toBe(first.ce_id);
    catalog.close();
  });

  it('refuses to open a catalog whose documents file is shorter than its entities need', async () => {
    const path = join(directory, 'cut.db');
    const catalog = new Catalog(path);
    await catalog.importFile(file('cut.ndjson', [JSON.stringify(entities[0])]));
    catalog.close();
    const documents = `${path}.documents`;
    truncateSync(documents, statSync(documents).size - 1);
    expect(() => new Catalog(path)).toThrow(DocumentFileError);
    expect(() => new Catalog(path)).toThrow(/import the entity file into a new catalog/);
  });

  it('answers lookups of unknown ids with undefined', () => {
    const catalog = new Catalog(join(directory, 'e.db'));
    expect(catalog.entity('ce_000000000000000000000000')).toBeUndefined();
    expect(catalog.certificate('cert_000000000000000000000000')).toBeUndefined();
    catalog.close();
  });
});
