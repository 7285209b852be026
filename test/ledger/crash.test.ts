import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { SqliteLedger } from '../../src/ledger/index.js';

const child = new URL('./crash-child.ts', import.meta.url).pathname;

/** Runs the charging child until a random moment, kills it with SIGKILL, returns what it acknowledged. */
function runAndKill(path: string, accountId: string, keyId: string, afterMs: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const process_ = spawn(process.execPath, ['--import', 'tsx', child, path, accountId, keyId], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let output = '';
    process_.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    // Kill once the child is charging (it has acknowledged something), after a random extra delay.
    const poll = setInterval(() => {
      if (!output.includes('ack ')) return;
      clearInterval(poll);
      setTimeout(() => process_.kill('SIGKILL'), afterMs);
    }, 5);
    process_.on('error', reject);
    process_.on('exit', () => {
      clearInterval(poll);
      // Only complete lines were acknowledged; a line cut by the kill is not counted.
      resolve(output.split('\n').filter((line) => /^ack \d+ ce_\d{24} [01]$/.test(line)));
    });
  });
}

describe('the ledger under SIGKILL', () => {
  it('keeps every acknowledged charge, half-applies nothing, and checks clean after 50 kills', {
    timeout: 240_000,
  }, async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'certmatch-crash-')), 'ledger.db');
    const setup = new SqliteLedger(path);
    const account = await setup.createAccount({ name: 'Crash', plan: 'standard' });
    const { key } = await setup.createApiKey({ accountId: account.id });
    await setup.grantCredits({ accountId: account.id, amount: 1_000_000 });
    await setup.close();
    const acknowledged: string[] = [];
    for (let kill = 0; kill < 50; kill++) {
      acknowledged.push(...(await runAndKill(path, account.id, key.id, Math.floor(Math.random() * 40))));
      const ledger = new SqliteLedger(path);
      expect(ledger.check().differences, `after kill ${kill + 1}`).toEqual([]);
      await ledger.close();
    }
    const database = new Database(path, { readonly: true });
    const present = new Set(
      (database.prepare('SELECT id FROM verifications').all() as { id: number }[]).map((row) => row.id),
    );
    for (const line of acknowledged) expect(present.has(Number(line.split(' ')[1])), line).toBe(true);
    // Whatever was committed is whole: every charged verification has its debit entry and its grace period.
    const halfApplied = database
      .prepare(
        `SELECT COUNT(*) AS n FROM verifications v
         WHERE v.credits = 1 AND (NOT EXISTS (SELECT 1 FROM entries e WHERE e.verification_id = v.id AND e.kind = 'debit')
                                  OR v.grace_until IS NULL)`,
      )
      .get() as { n: number };
    expect(halfApplied.n).toBe(0);
    // One credit per company within the grace period, across all the restarts.
    const doubleCharged = database
      .prepare(
        "SELECT COUNT(*) AS n FROM (SELECT ce_id FROM verifications WHERE reason = 'charged' GROUP BY ce_id HAVING COUNT(*) > 1)",
      )
      .get() as { n: number };
    expect(doubleCharged.n).toBe(0);
    expect(acknowledged.length).toBeGreaterThan(50);
    database.close();
  });
});
