import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCertmatch as certmatch } from './support/run-certmatch.js';

describe('ledger administration on the command line', () => {
  const ledger = join(mkdtempSync(join(tmpdir(), 'certmatch-admin-')), 'ledger.db');

  it('reports a ledger file that is not a database in one line with exit code 1, changing nothing', async () => {
    const notes = join(mkdtempSync(join(tmpdir(), 'certmatch-admin-')), 'notes.db');
    writeFileSync(notes, 'not SQLite\n'.repeat(200));
    const result = await certmatch([
      'accounts',
      'create',
      '--name',
      'A',
      '--plan',
      'free',
      '--ledger',
      notes,
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr.trim()).toBe(
      `certmatch accounts: cannot open the ledger ${notes}: file is not a database`,
    );
    expect(readFileSync(notes, 'utf8')).toBe('not SQLite\n'.repeat(200));
  });

  it('creates an account with a key, grants and lists credits, revokes keys and checks the ledger', async () => {
    const created = await certmatch([
      'accounts',
      'create',
      '--name',
      'Acme Buyer',
      '--plan',
      'basic',
      '--ledger',
      ledger,
    ]);
    expect(created.code).toBe(0);
    const { account_id: accountId, api_key: apiKey } = JSON.parse(created.stdout);
    expect(apiKey).toMatch(/^cm_/);
    const granted = await certmatch([
      'credits',
      'grant',
      '--account',
      accountId,
      '--amount',
      '25',
      '--service',
      'api',
      '--ledger',
      ledger,
    ]);
    expect(JSON.parse(granted.stdout)).toMatchObject({ amount: 25, used: 0, remaining: 25, service: 'api' });
    const listed = JSON.parse(
      (await certmatch(['credits', 'list', '--account', accountId, '--ledger', ledger])).stdout,
    );
    expect(listed.data).toHaveLength(1);
    const key = JSON.parse(
      (
        await certmatch([
          'keys',
          'create',
          '--account',
          accountId,
          '--staff',
          'bob',
          '--monthly-budget',
          '5',
          '--ledger',
          ledger,
        ])
      ).stdout,
    );
    expect(key).toMatchObject({ staff: 'bob', monthlyBudget: 5 });
    expect((await certmatch(['keys', 'revoke', key.id, '--ledger', ledger])).code).toBe(0);
    const again = await certmatch(['keys', 'revoke', key.id, '--ledger', ledger]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('key_revoked');
    const checked = await certmatch(['ledger', 'check', '--ledger', ledger]);
    expect(checked.code).toBe(0);
    expect(JSON.parse(checked.stdout).differences).toEqual([]);
  });

  it('refuses bad input with a stable code or the usage text, and changes nothing', async () => {
    const unknown = await certmatch([
      'credits',
      'grant',
      '--account',
      'acct_nobody',
      '--amount',
      '3',
      '--ledger',
      ledger,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('unknown_account');
    const fractional = await certmatch([
      'credits',
      'grant',
      '--account',
      'acct_nobody',
      '--amount',
      '1.5',
      '--ledger',
      ledger,
    ]);
    expect(fractional.code).toBe(2);
    const plan = await certmatch(['accounts', 'create', '--name', 'X', '--plan', 'gold', '--ledger', ledger]);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('--plan must be one of free, basic, standard');
  });
});
