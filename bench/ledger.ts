/**
 * Durable charges through the ledger's single writer: throughput with many callers (group commit) and one
 * charge's commit latency when idle. Throughput is the median of `--rounds` rounds of `--charges` charges on
 * one growing ledger: the machine is shared, and one round can catch a stall.
 * Run: node --import tsx bench/ledger.ts [--charges 200000] [--rounds 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteLedger } from '../src/ledger/index.js';
import {
  cpuTimes,
  type Figure,
  percentile,
  printFigures,
  stolenPercentSince,
  writeResults,
} from './report.js';

const { values } = parseArgs({
  options: {
    charges: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '5' },
    idle: { type: 'string', default: '2000' },
  },
});
const charges = Number(values.charges);
const rounds = Number(values.rounds);
const directory = mkdtempSync(join(tmpdir(), 'certmatch-ledger-bench-'));
const ledger = new SqliteLedger(join(directory, 'ledger.db'));
const account = await ledger.createAccount({ name: 'Bench', plan: 'standard' });
const { key } = await ledger.createApiKey({ accountId: account.id });
await ledger.grantCredits({ accountId: account.id, amount: 1_000_000_000 });
const ceId = (i: number) => `ce_${String(i).padStart(24, '0')}`;

// Many concurrent callers, each a different company: every verification is a durable one-credit charge.
const inFlight = 10_000;
const roundRates: number[] = [];
const beforeRounds = cpuTimes();
for (let round = 0; round < rounds; round++) {
  const started = performance.now();
  for (let done = 0; done < charges; done += inFlight) {
    const batch = Array.from({ length: Math.min(inFlight, charges - done) }, (_, i) =>
      ledger.recordVerification({
        accountId: account.id,
        keyId: key.id,
        endpoint: '/company',
        ceId: ceId(round * charges + done + i),
        matchType: 'exactly_matched',
      }),
    );
    await Promise.all(batch);
  }
  roundRates.push(charges / ((performance.now() - started) / 1000));
}
const roundsStolenPercent = stolenPercentSince(beforeRounds);
const chargesPerSecond = percentile(
  [...roundRates].sort((a, b) => a - b),
  0.5,
);

// One caller at a time: the latency of a single durable commit when nothing else is queued.
const latencies: number[] = [];
for (let i = 0; i < Number(values.idle); i++) {
  const at = performance.now();
  await ledger.recordVerification({
    accountId: account.id,
    keyId: key.id,
    endpoint: '/company',
    ceId: ceId(rounds * charges + i),
    matchType: 'exactly_matched',
  });
  latencies.push(performance.now() - at);
}
latencies.sort((a, b) => a - b);
const check = ledger.check();
await ledger.close();
rmSync(directory, { recursive: true, force: true });

const p99 = percentile(latencies, 0.99);
const figures: Figure[] = [
  {
    name: `durable charges/s, group commit (median of ${rounds} rounds)`,
    value: Math.round(chargesPerSecond),
    unit: '/s',
    target: '≥ 50,000',
    meets: chargesPerSecond >= 50_000,
  },
  {
    // The writer is one thread, busy throughout: time the hypervisor gives other guests slows it.
    name: 'CPU time stolen by the hypervisor during the rounds',
    value: roundsStolenPercent,
    unit: '%',
  },
  { name: 'one charge commit p50, idle', value: percentile(latencies, 0.5), unit: 'ms' },
  { name: 'one charge commit p99, idle', value: p99, unit: 'ms', target: '≤ 2 ms', meets: p99 <= 2 },
  { name: 'ledger check differences', value: check.differences.length, unit: '' },
];
printFigures(`Ledger (${rounds} × ${charges.toLocaleString('en')} charges, synchronous=FULL, WAL)`, figures);
console.log(
  `  rounds, charges/s: ${roundRates.map((rate) => Math.round(rate).toLocaleString('en')).join(', ')}`,
);
console.log(`  written to ${writeResults('ledger', { charges, rounds, roundRates, figures })}`);
