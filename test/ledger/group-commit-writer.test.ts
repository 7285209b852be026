import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { GroupCommitWriter } from '../../src/ledger/group-commit-writer.js';

class Refusal extends Error {}

function setUp() {
  const database = new Database(':memory:');
  database.exec('CREATE TABLE rows (name TEXT PRIMARY KEY)');
  const insert = database.prepare('INSERT INTO rows (name) VALUES (?)');
  const writer = new GroupCommitWriter(database, { isRefusal: (error) => error instanceof Refusal });
  const names = () => database.prepare('SELECT name FROM rows ORDER BY name').pluck().all() as string[];
  return { writer, insert, names };
}

describe('the group-commit writer', () => {
  it('commits a batch whose refusals happen before writing, refusing only those callers', async () => {
    const { writer, insert, names } = setUp();
    const outcomes = await Promise.allSettled([
      writer.submit(() => insert.run('a')),
      writer.submit(() => {
        throw new Refusal('no');
      }),
      writer.submit(() => insert.run('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(names()).toEqual(['a', 'c']);
  });

  it('undoes a half-done write of a failing operation and still commits the others in its batch', async () => {
    const { writer, insert, names } = setUp();
    const outcomes = await Promise.allSettled([
      writer.submit(() => insert.run('a')),
      writer.submit(() => {
        insert.run('half');
        throw new Error('a bug after a write');
      }),
      writer.submit(() => insert.run('c')),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(names()).toEqual(['a', 'c']);
  });

  it('drains everything queued before it closes', async () => {
    const { writer, insert, names } = setUp();
    const pending = Array.from({ length: 5000 }, (_, i) => writer.submit(() => insert.run(`n${i}`)));
    await writer.close();
    await Promise.all(pending);
    expect(names()).toHaveLength(5000);
    await expect(writer.submit(() => insert.run('late'))).rejects.toThrow('closed');
  });
});
