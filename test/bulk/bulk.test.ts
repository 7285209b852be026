/**
 * Bulk verification: CSV and NDJSON in and out, charged exactly as the API charges, quotes that charge
 * nothing, bad rows reported in place, and a run killed with SIGKILL that resumes to the same output
 * without charging any company twice.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointPath, runBulk } from '../../src/bulk/index.js';
import { registryEntities } from '../../src/data/generate-registry.js';
import { type CertifiedEntityRecord, createMatcher, type Matcher } from '../../src/engine/index.js';
import { type ApiKeyInfo, SqliteLedger } from '../../src/ledger/index.js';
import { fromSource, projectRoot } from '../support/run-certmatch.js';

const directory = mkdtempSync(join(tmpdir(), 'certmatch-bulk-'));
const entities = [...registryEntities({ count: 400, seed: 'bulk-tests' })];
const entityFile = join(directory, 'entities.ndjson');
writeFileSync(entityFile, `${entities.map((entity) => JSON.stringify(entity)).join('\n')}\n`);
let matcher: Matcher;
let ledger: SqliteLedger;

const csvCell = (value: string) => (/[",\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value);
/** A supplier list: each entity's exact name twice, a loose variant, an unknown company, and a broken row. */
function supplierCsv(rows: readonly CertifiedEntityRecord[]): string {
  const lines = ['Supplier Name,Land,VAT,Internal Ref'];
  rows.forEach((entity, i) => {
    lines.push([csvCell(entity.certified_entity_name), entity.country, '', `R${i}`].join(','));
  });
  lines.push(['Zyxwvut Unheard Of Ltd', 'DE', '', 'RX'].join(','));
  lines.push(['Missing Country Ltd', '', '', 'RY'].join(','));
  lines.push(`${csvCell(rows[0]?.certified_entity_name ?? '')},${rows[0]?.country},,R-again`);
  return `${lines.join('\n')}\n`;
}

async function staffWith(plan: 'free' | 'basic', credits: number): Promise<ApiKeyInfo & { secret: string }> {
  const account = await ledger.createAccount({ name: `Bulk ${plan}`, plan });
  const { key, secret } = await ledger.createApiKey({ accountId: account.id, staff: 'ops' });
  if (credits > 0) await ledger.grantCredits({ accountId: account.id, amount: credits });
  return { ...key, secret };
}

beforeAll(async () => {
  matcher = await createMatcher({ file: entityFile }, { threads: 0 });
  ledger = new SqliteLedger(join(directory, 'ledger.db'));
});
afterAll(async () => {
  await matcher.close();
  await ledger.close();
});

describe('bulk verification', () => {
  it('verifies a CSV with mapped columns, charging one credit per exactly matched company and reporting bad rows', async () => {
    const input = join(directory, 'suppliers.csv');
    writeFileSync(input, supplierCsv(entities.slice(0, 20)));
    const staff = await staffWith('free', 100);
    const output = join(directory, 'verified.csv');
    const summary = await runBulk({
      input,
      output,
      matcher,
      ledger,
      staff,
      map: { 'Supplier Name': 'company_name', Land: 'company_country' },
    });
    const rows = parse(readFileSync(output), { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(23);
    expect(Object.keys(rows[0] ?? {})).toEqual([
      'Supplier Name',
      'Land',
      'VAT',
      'Internal Ref',
      'ce_id',
      'matched_certified_entity_name',
      'match_score',
      'match_type',
      'credits_charged',
      'error',
    ]);
    expect(rows[0]).toMatchObject({
      ce_id: entities[0]?.ce_id,
      match_type: 'exactly_matched',
      credits_charged: '1',
    });
    expect(rows[20]).toMatchObject({ match_type: 'not_found', credits_charged: '0' });
    expect(rows[21]?.error).toContain('validation_error');
    expect(rows[22]).toMatchObject({ ce_id: entities[0]?.ce_id, credits_charged: '0' }); // same company again
    const exact = rows.filter((row) => row.match_type === 'exactly_matched');
    const companies = new Set(exact.map((row) => row.ce_id));
    expect(summary.creditsCharged).toBe(companies.size);
    expect(ledger.balance(staff.accountId)).toBe(100 - companies.size);
    // The same rows through the ledger's usage report, as the API records them.
    expect(ledger.usage(staff.accountId, { by: 'endpoint' })).toEqual([
      { group: 'bulk', verifications: 22, charged: companies.size, credits: companies.size, overage: 0 },
    ]);
  });

  it('reports insufficient_credit in the error column on a free plan and goes on', async () => {
    const input = join(directory, 'many.ndjson');
    writeFileSync(
      input,
      entities
        .slice(0, 10)
        .map((entity) =>
          JSON.stringify({ company_name: entity.certified_entity_name, company_country: entity.country }),
        )
        .join('\n'),
    );
    const staff = await staffWith('free', 3);
    const output = join(directory, 'many-out.ndjson');
    const summary = await runBulk({ input, output, matcher, ledger, staff });
    const rows = readFileSync(output, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows).toHaveLength(10);
    expect(summary.creditsCharged).toBe(3);
    expect(rows.filter((row) => row.error === 'insufficient_credit').length).toBe(
      rows.filter((row) => row.match_type === 'exactly_matched').length - 3,
    );
    expect(rows[0]).toMatchObject({ company_name: entities[0]?.certified_entity_name, credits_charged: 1 });
  });

  it('quotes what a file would cost without charging, counting companies already in their grace period as free', async () => {
    const input = join(directory, 'quote.csv');
    writeFileSync(input, supplierCsv(entities.slice(30, 40)));
    const staff = await staffWith('free', 50);
    await ledger.recordVerification({
      accountId: staff.accountId,
      keyId: staff.id,
      endpoint: '/company',
      ceId: entities[30]?.ce_id as string,
      matchType: 'exactly_matched',
    });
    const before = ledger.balance(staff.accountId);
    const summary = await runBulk({
      input,
      output: join(directory, 'quote-out.csv'),
      matcher,
      ledger,
      staff,
      quote: true,
      map: { Land: 'company_country' },
    });
    const exact = new Set(
      (parse(readFileSync(join(directory, 'quote-out.csv')), { columns: true }) as Record<string, string>[])
        .filter((row) => row.match_type === 'exactly_matched')
        .map((row) => row.ce_id),
    );
    expect(summary.creditsQuoted).toBe(exact.size - 1);
    expect(summary.creditsCharged).toBe(0);
    expect(ledger.balance(staff.accountId)).toBe(before);
  });

  it('resumes a run killed with SIGKILL to the same output as an uninterrupted run, charging each company once', async () => {
    // 6,000 rows over 400 companies: three checkpoints, and most companies repeated.
    const many = Array.from(
      { length: 6_000 },
      (_, i) => entities[(i * 7) % entities.length] as CertifiedEntityRecord,
    );
    const input = join(directory, 'long.csv');
    writeFileSync(input, supplierCsv(many));
    const cli = (args: string[]) =>
      spawn(process.execPath, [...fromSource, 'bulk', ...args], { cwd: projectRoot });
    const common = (output: string, key: string) => [
      '--input',
      input,
      '--output',
      output,
      '--data',
      entityFile,
      '--ledger',
      join(directory, 'ledger.db'),
      '--api-key',
      key,
      '--threads',
      '1',
      '--map',
      'Supplier Name=company_name,Land=company_country',
    ];
    const uninterrupted = join(directory, 'long-uninterrupted.csv');
    const reference = await staffWith('basic', 10_000);
    const [referenceCode] = await once(cli(common(uninterrupted, reference.secret)), 'exit');
    expect(referenceCode).toBe(0);

    const staff = await staffWith('basic', 10_000);
    const output = join(directory, 'long-killed.csv');
    const child = cli(common(output, staff.secret));
    const exited = once(child, 'exit');
    // Kill it once the first checkpoint is on disk, mid-run.
    while (!existsSync(checkpointPath(output)) && child.exitCode === null) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    child.kill('SIGKILL');
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    const resumed = cli([...common(output, staff.secret), '--resume']);
    let stderr = '';
    resumed.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(resumed, 'close');
    expect(code, stderr).toBe(0);
    expect(stderr).toContain('resumed after row');
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(uninterrupted, 'utf8'));
    expect(existsSync(checkpointPath(output))).toBe(false);
    const rows = parse(readFileSync(output), { columns: true }) as Record<string, string>[];
    const companies = new Set(
      rows.filter((row) => row.match_type === 'exactly_matched').map((row) => row.ce_id),
    );
    const [usage] = ledger.usage(staff.accountId, { by: 'endpoint' });
    expect(usage?.credits).toBe(companies.size);
    expect(ledger.check().differences).toEqual([]);
  }, 60_000);

  it('quotes the same cost when a quote is stopped at a checkpoint and resumed', async () => {
    const many = Array.from(
      { length: 5_000 },
      (_, i) => entities[(i * 3) % entities.length] as CertifiedEntityRecord,
    );
    const input = join(directory, 'quote-long.csv');
    writeFileSync(input, supplierCsv(many));
    const map = { 'Supplier Name': 'company_name', Land: 'company_country' };
    const whole = await runBulk({
      input,
      output: join(directory, 'quote-whole.csv'),
      matcher,
      quote: true,
      map,
    });
    const output = join(directory, 'quote-resumed.csv');
    const stopped = await runBulk({ input, output, matcher, quote: true, map, shouldStop: () => true });
    expect(stopped.interrupted).toBe(true);
    const resumed = await runBulk({ input, output, matcher, quote: true, map, resume: true });
    expect(resumed.creditsQuoted).toBe(whole.creditsQuoted);
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(join(directory, 'quote-whole.csv'), 'utf8'));
  });

  it('refuses to start over an unfinished run unless told to resume, and refuses to resume nothing', async () => {
    const input = join(directory, 'small.csv');
    writeFileSync(input, supplierCsv(entities.slice(0, 3)));
    const output = join(directory, 'small-out.csv');
    writeFileSync(checkpointPath(output), '{}');
    await expect(runBulk({ input, output, matcher, quote: true })).rejects.toThrow(/unfinished run/);
    await expect(
      runBulk({ input, output: join(directory, 'other.csv'), matcher, quote: true, resume: true }),
    ).rejects.toThrow(/nothing to resume/);
  });
});
