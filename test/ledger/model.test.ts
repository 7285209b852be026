import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type CreditService,
  freeGracePeriodMs,
  LedgerError,
  paidGracePeriodMaxMs,
  SqliteLedger,
} from '../../src/ledger/index.js';

const hour = 3_600_000;
const day = 24 * hour;

type Operation =
  | {
      kind: 'grant';
      account: number;
      amount: number;
      service: CreditService;
      priority: number;
      expiresInDays: number | null;
    }
  | {
      kind: 'verify';
      account: number;
      staff: number;
      company: number;
      match: 'exactly_matched' | 'loosely_matched' | 'not_found';
      retryKey: number | null;
    }
  | { kind: 'expire' }
  | { kind: 'void'; account: number; record: number }
  | { kind: 'tick'; hours: number };

const operation: fc.Arbitrary<Operation> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('grant' as const),
      account: fc.nat(1),
      amount: fc.integer({ min: 1, max: 4 }),
      service: fc.constantFrom<CreditService>('smartcheck', 'api', 'biometric'),
      priority: fc.nat(2),
      expiresInDays: fc.option(fc.integer({ min: 1, max: 20 }), { nil: null }),
    }),
  },
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('verify' as const),
      account: fc.nat(1),
      staff: fc.nat(1),
      company: fc.nat(30),
      match: fc.constantFrom(
        'exactly_matched' as const,
        'exactly_matched' as const,
        'loosely_matched' as const,
        'not_found' as const,
      ),
      retryKey: fc.option(fc.nat(5), { nil: null, freq: 3 }),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ kind: 'expire' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('void' as const), account: fc.nat(1), record: fc.nat(40) }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('tick' as const), hours: fc.integer({ min: 1, max: 60 }) }),
  },
);

/** The obvious version of the rules: plain arrays and maps, no SQL. */
interface ModelRecord {
  id: string;
  amount: number;
  used: number;
  remaining: number;
  service: CreditService;
  priority: number;
  expiresAt: number | null;
  createdAt: number;
  voided: boolean;
  expired: boolean;
}

describe('the ledger against a reference model', () => {
  it('agrees with the model on every answer and every balance over 10,000 random operations', {
    timeout: 240_000,
  }, async () => {
    const seed = Number(process.env.LEDGER_MODEL_SEED ?? Date.now() % 2 ** 31);
    console.log(`ledger model test seed: ${seed} (rerun with LEDGER_MODEL_SEED=${seed})`);
    const [operations] = fc.sample(fc.array(operation, { minLength: 10_000, maxLength: 10_000 }), {
      seed,
      numRuns: 1,
    });
    let clock = Date.UTC(2026, 0, 1);
    const ledger = new SqliteLedger(join(mkdtempSync(join(tmpdir(), 'ledger-model-')), 'ledger.db'), {
      now: () => clock,
    });
    const plans = ['free', 'basic'] as const;
    const subscriptionEnds = clock + 120 * day;
    const accounts = [
      await ledger.createAccount({ name: 'Free', plan: 'free' }),
      await ledger.createAccount({ name: 'Basic', plan: 'basic', subscriptionEndsAt: subscriptionEnds }),
    ];
    const keys = await Promise.all(
      accounts.flatMap((account) =>
        [0, 1].map((staff) => ledger.createApiKey({ accountId: account.id, staff: `staff${staff}` })),
      ),
    );
    const records: ModelRecord[][] = [[], []];
    const graceUntil = [new Map<number, number>(), new Map<number, number>()];
    const retries = [
      new Map<number, { fingerprint: string; charged: number }>(),
      new Map<number, { fingerprint: string; charged: number }>(),
    ];

    const usable = (account: number) =>
      (records[account] as ModelRecord[])
        .filter(
          (r) =>
            !r.voided &&
            !r.expired &&
            r.remaining > 0 &&
            (r.service === 'smartcheck' || r.service === 'api') &&
            (r.expiresAt === null || r.expiresAt > clock),
        )
        .sort(
          (a, b) =>
            (a.service === 'smartcheck' ? 0 : 1) - (b.service === 'smartcheck' ? 0 : 1) ||
            a.priority - b.priority ||
            (a.expiresAt === null ? 1 : 0) - (b.expiresAt === null ? 1 : 0) ||
            (a.expiresAt ?? 0) - (b.expiresAt ?? 0) ||
            a.createdAt - b.createdAt ||
            (a.id < b.id ? -1 : 1),
        );
    const balance = (account: number) => usable(account).reduce((sum, r) => sum + r.remaining, 0);

    const compareEverything = (step: number) => {
      for (const account of [0, 1]) {
        const real = ledger.listCredits((accounts[account] as { id: string }).id);
        const model = [...(records[account] as ModelRecord[])].sort(
          (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1),
        );
        expect(
          real.map((r) => [r.id, r.amount, r.used, r.remaining]),
          `records after step ${step}`,
        ).toEqual(model.map((r) => [r.id, r.amount, r.used, r.remaining]));
      }
      expect(ledger.check().differences, `check after step ${step}`).toEqual([]);
    };

    // Operations between two clock moves are submitted together, without waiting, so that the writer commits
    // them in one batch (group commit) as under load; the model applies them one by one in the same order.
    let submitted: { step: number; answer: Promise<unknown>; expect: (answer: unknown) => void }[] = [];
    const settle = async () => {
      const answers = await Promise.all(submitted.map((operation) => operation.answer));
      submitted.forEach((operation, i) => {
        operation.expect(answers[i]);
      });
      const step = submitted.at(-1)?.step ?? 0;
      for (const account of [0, 1]) {
        expect(
          ledger.balance((accounts[account] as { id: string }).id),
          `balance of account ${account} after step ${step}`,
        ).toBe(balance(account));
      }
      submitted = [];
    };
    const submit = (step: number, answer: Promise<unknown>, expectation: (answer: unknown) => void) => {
      // Rejections are answers too: caught here, compared in settle().
      submitted.push({ step, answer: answer.catch((error: unknown) => error), expect: expectation });
    };

    for (const [step, op] of (operations as Operation[]).entries()) {
      switch (op.kind) {
        case 'tick':
          await settle();
          clock += op.hours * hour;
          break;
        case 'grant': {
          const expiresAt = op.expiresInDays === null ? null : clock + op.expiresInDays * day;
          const model: ModelRecord = {
            id: '',
            amount: op.amount,
            used: 0,
            remaining: op.amount,
            service: op.service,
            priority: op.priority,
            expiresAt,
            createdAt: clock,
            voided: false,
            expired: false,
          };
          (records[op.account] as ModelRecord[]).push(model);
          const answer = ledger.grantCredits({
            accountId: (accounts[op.account] as { id: string }).id,
            amount: op.amount,
            service: op.service,
            priority: op.priority,
            expiresAt,
          });
          // The model learns the record's id now: later operations of the same batch may void it.
          const id = answer.then((granted) => {
            model.id = granted.id;
          });
          submit(step, answer, (granted) => {
            expect((granted as { amount: number }).amount, `grant at step ${step}`).toBe(op.amount);
          });
          await id;
          break;
        }
        case 'expire': {
          submit(step, ledger.expireCredits(), (answer) => {
            expect(answer instanceof Error, `expire at step ${step}`).toBe(false);
          });
          for (const r of records.flat()) {
            if (!r.voided && !r.expired && r.expiresAt !== null && r.expiresAt <= clock) {
              r.amount -= r.remaining;
              r.remaining = 0;
              r.expired = true;
            }
          }
          break;
        }
        case 'void': {
          const target = (records[op.account] as ModelRecord[])[op.record];
          if (!target) break;
          const expected = target.voided ? 'credit_voided' : 'ok';
          submit(step, ledger.voidCredit(target.id), (answer) => {
            expect(answer instanceof LedgerError ? answer.code : 'ok', `void at step ${step}`).toBe(expected);
          });
          if (!target.voided) {
            target.amount -= target.remaining;
            target.remaining = 0;
            target.voided = true;
          }
          break;
        }
        case 'verify': {
          const account = accounts[op.account] as { id: string };
          const key = (keys[op.account * 2 + op.staff] as { key: { id: string } }).key;
          const ceId = `ce_${String(op.company).padStart(24, '0')}`;
          const request = {
            accountId: account.id,
            keyId: key.id,
            endpoint: '/company',
            ceId: op.match === 'not_found' ? null : ceId,
            matchType: op.match,
          };
          const fingerprint = JSON.stringify([op.company, op.match]);
          const idempotency = op.retryKey === null ? undefined : { key: `retry-${op.retryKey}`, fingerprint };
          const answer = ledger.recordVerification(request, idempotency);
          // The model's answer.
          const seen =
            op.retryKey === null
              ? undefined
              : (retries[op.account] as Map<number, { fingerprint: string; charged: number }>).get(
                  op.retryKey,
                );
          let expected: { charged: number } | { code: string };
          if (seen && seen.fingerprint !== fingerprint) expected = { code: 'idempotency_conflict' };
          else if (seen) expected = { charged: seen.charged };
          else if (op.match !== 'exactly_matched') expected = { charged: 0 };
          else if (((graceUntil[op.account] as Map<number, number>).get(op.company) ?? 0) > clock)
            expected = { charged: 0 };
          else {
            const available = usable(op.account);
            if (available.length === 0 && plans[op.account] === 'free')
              expected = { code: 'insufficient_credit' };
            else {
              const first = available[0];
              if (first) {
                first.used++;
                first.remaining--;
              }
              (graceUntil[op.account] as Map<number, number>).set(
                op.company,
                plans[op.account] === 'free'
                  ? clock + freeGracePeriodMs
                  : Math.min(subscriptionEnds, clock + paidGracePeriodMaxMs),
              );
              expected = { charged: 1 };
            }
          }
          if (!('code' in expected) && op.retryKey !== null && !seen)
            (retries[op.account] as Map<number, { fingerprint: string; charged: number }>).set(op.retryKey, {
              fingerprint,
              charged: expected.charged,
            });
          submit(step, answer, (real) => {
            const got =
              real instanceof LedgerError ? real.code : (real as { creditsCharged: number }).creditsCharged;
            expect(got, `verify at step ${step}`).toBe('code' in expected ? expected.code : expected.charged);
          });
          break;
        }
      }
      if (step % 500 === 0) {
        await settle();
        compareEverything(step);
      }
    }
    await settle();
    compareEverything(operations?.length ?? 0);
    await ledger.close();
  });
});
