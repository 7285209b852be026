import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { Catalog } from '../../src/catalog/index.js';
import { registryEntities } from '../../src/data/generate-registry.js';
import { fromSource, projectRoot } from '../support/run-certmatch.js';

/**
 * Everything a catalog holds, entities by ce_id (not by their row ids or where their documents sit), as one
 * digest; documents and certificates as lookups return them.
 */
function contentDigest(path: string): string {
  const database = new Database(path, { readonly: true });
  const catalog = new Catalog(path);
  const digest = createHash('sha256');
  const add = (rows: Iterable<unknown[]>, lookup: (id: string) => Buffer | undefined) => {
    for (const row of rows) {
      for (const value of row) digest.update(Buffer.isBuffer(value) ? value : `${value}|`);
      digest.update(lookup(row[0] as string) ?? 'missing');
    }
  };
  add(
    database
      .prepare('SELECT ce_id, name, certificates_at, shared_ids, updated_at FROM entities ORDER BY ce_id')
      .raw()
      .iterate() as Iterable<unknown[]>,
    (ceId) => catalog.entityDocument(ceId),
  );
  add(
    database
      .prepare(
        `SELECT o.cert_id, e.ce_id, o.start, o.length FROM own_certificates o
         JOIN entities e ON e.entity_id = o.entity_id ORDER BY o.cert_id`,
      )
      .raw()
      .iterate() as Iterable<unknown[]>,
    (certId) => catalog.certificateDocument(certId),
  );
  add(
    database
      .prepare('SELECT cert_id, body, updated_at FROM shared_certificates ORDER BY cert_id')
      .raw()
      .iterate() as Iterable<unknown[]>,
    (certId) => catalog.certificateDocument(certId),
  );
  catalog.close();
  database.close();
  return digest.digest('hex');
}

/** The entities a catalog holds, as a reader sees them; 0 while the file does not exist or has no table yet. */
function committedEntities(path: string): number {
  if (!existsSync(path)) return 0;
  const reader = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return reader.prepare('SELECT COUNT(*) FROM entities').pluck().get() as number;
  } catch {
    return 0; // the schema is not written yet
  } finally {
    reader.close();
  }
}

/**
 * Starts `certmatch import` into a new catalog and kills it with SIGKILL at a random moment of the `window`
 * ms after its first commit: inside the second transaction, the third, or after the end. Returns the entities
 * committed, and whether the kill came before the end.
 */
function importAndKill(
  data: string,
  catalog: string,
  window: number,
): Promise<{ committed: number; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...fromSource, 'import', '--data', data, '--catalog', catalog], {
      cwd: projectRoot,
      stdio: 'ignore',
    });
    const poll = setInterval(() => {
      if (committedEntities(catalog) === 0) return;
      clearInterval(poll);
      setTimeout(() => child.kill('SIGKILL'), Math.floor(Math.random() * window));
    }, 10);
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      clearInterval(poll);
      resolve({ committed: committedEntities(catalog), killed: signal === 'SIGKILL' });
    });
  });
}

describe('a catalog import under SIGKILL', () => {
  it('keeps whole transactions of the first lines of the file, and importing again gives what one clean import gives', {
    timeout: 240_000,
  }, async () => {
    const directory = mkdtempSync(join(tmpdir(), 'certmatch-import-crash-'));
    const data = join(directory, 'entities.ndjson');
    const lines = [...registryEntities({ count: 30_000, seed: 'import-crash' })].map((e) =>
      JSON.stringify(e),
    );
    writeFileSync(data, `${lines.join('\n')}\n`);
    const ceIds = lines.map((line) => (JSON.parse(line) as { ce_id: string }).ce_id);

    const clean = join(directory, 'clean.db');
    const once = new Catalog(clean);
    const { seconds } = await once.importFile(data);
    once.close();
    // The first transaction holds a third of the file. The first round kills as soon as it is committed, so
    // surely inside the import; the others at random within a clean import's time after it, so inside the
    // second transaction, the third, or after the end, on a fast machine or a slow one.
    const killWindow = (round: number) => (round === 1 ? 0 : seconds * 1000);

    const expected = contentDigest(clean);
    let killedMidway = 0;
    for (let round = 1; round <= 4; round++) {
      const crashed = join(directory, `crashed-${round}.db`);
      const { committed, killed } = await importAndKill(data, crashed, killWindow(round));
      if (killed && committed < lines.length) killedMidway++;
      // Transactions commit whole and in file order, so what survives is the file's first lines; the
      // transaction the kill interrupted was rolled back.
      const check = new Database(crashed, { readonly: true });
      expect(check.pragma('integrity_check', { simple: true }), `round ${round}`).toBe('ok');
      const stored = check.prepare('SELECT ce_id FROM entities ORDER BY entity_id').pluck().all();
      check.close();
      expect(stored, `round ${round}`).toEqual(ceIds.slice(0, committed));
      const recovered = new Catalog(crashed);
      await recovered.importFile(data);
      recovered.close();
      expect(contentDigest(crashed), `round ${round}`).toBe(expected);
    }
    expect(killedMidway).toBeGreaterThan(0);
  });
});
