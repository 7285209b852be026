import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Account,
  type ApiKeyInfo,
  LedgerError,
  type Plan,
  SqliteLedger,
} from '../../src/ledger/index.js';

const day = 24 * 3_600_000;
const acme = 'ce_KMi1zsb9CH2EorSzOJ9YEgtV';
const other = 'ce_Zz9yXw8VuT7sR6qP5oN4mL3k';

describe("the seeds' credit rules", () => {
  let clock: number;
  let ledger: SqliteLedger;
  let account: Account;
  let key: ApiKeyInfo;

  const open = () =>
    new SqliteLedger(join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db'), { now: () => clock });
  const setUp = async (plan: Plan, credits: number) => {
    account = await ledger.createAccount({ name: 'Acme Buyer', plan });
    key = (await ledger.createApiKey({ accountId: account.id, staff: 'alice' })).key;
    if (credits > 0) await ledger.grantCredits({ accountId: account.id, amount: credits });
  };
  const verify = (
    ceId: string | null,
    matchType: 'exactly_matched' | 'loosely_matched' | 'not_found',
    keyId = key.id,
  ) => ledger.recordVerification({ accountId: account.id, keyId, endpoint: '/company', ceId, matchType });

  beforeEach(() => {
    clock = Date.UTC(2026, 0, 15);
    ledger = open();
  });
  afterEach(async () => {
    expect(ledger.check().differences).toEqual([]);
    await ledger.close();
  });

  it('honours a void or a grant committed between two charges of the same batch', async () => {
    await setUp('free', 0);
    const first = await ledger.grantCredits({ accountId: account.id, amount: 5, priority: 0 });
    const second = await ledger.grantCredits({ accountId: account.id, amount: 5, priority: 1 });
    // Submitted without waiting: the single writer commits all five in one transaction, in this order.
    const answers = await Promise.all([
      verify(acme, 'exactly_matched'),
      ledger.voidCredit(first.id),
      verify(other, 'exactly_matched'),
      ledger.grantCredits({ accountId: account.id, amount: 1, priority: -1 }),
      verify('ce_AAAAAAAAAAAAAAAAAAAAAAAA', 'exactly_matched'),
    ]);
    expect(answers.map((answer) => (answer as { remaining?: number }).remaining)).toEqual([9, 0, 4, 1, 4]);
    const records = new Map(ledger.listCredits(account.id).map((record) => [record.id, record]));
    expect(records.get(first.id)).toMatchObject({ used: 1, remaining: 0 });
    expect(records.get(second.id)).toMatchObject({ used: 1, remaining: 4 });
    expect([...records.values()].find((record) => record.amount === 1)).toMatchObject({ used: 1 });
  });
  it('grants a retried purchase once when it carries the same idempotency key', async () => {
    await setUp('basic', 0);
    const purchase = { key: 'order-42', fingerprint: 'grant 100' };
    const first = await ledger.grantCredits({ accountId: account.id, amount: 100 }, purchase);
    const retried = await ledger.grantCredits({ accountId: account.id, amount: 100 }, purchase);
    expect(retried).toMatchObject({ id: first.id, replayed: true });
    expect(ledger.balance(account.id)).toBe(100);
    await expect(
      ledger.grantCredits({ accountId: account.id, amount: 5 }, { key: 'order-42', fingerprint: 'grant 5' }),
    ).rejects.toMatchObject({ code: 'idempotency_conflict' });
  });
  it("tells each record's status: active, depleted, expired or voided", async () => {
    await setUp('free', 0);
    const grant = (amount: number, expiresAt: number | null = null) =>
      ledger.grantCredits({ accountId: account.id, amount, expiresAt });
    // Drawn on first: the lowest priority number.
    const depleted = await ledger.grantCredits({ accountId: account.id, amount: 1, priority: -1 });
    const expiring = await grant(5, clock + day);
    const voided = await grant(5);
    const active = await grant(5);
    await verify(acme, 'exactly_matched');
    await ledger.voidCredit(voided.id);
    clock += 2 * day;
    const status = new Map(ledger.listCredits(account.id).map((record) => [record.id, record.status]));
    expect([depleted, expiring, voided, active].map((record) => status.get(record.id))).toEqual([
      'depleted',
      'expired',
      'voided',
      'active',
    ]);
  });
  it('consumes one credit for an exact match', async () => {
    await setUp('free', 5);
    expect(await verify(acme, 'exactly_matched')).toMatchObject({
      creditsCharged: 1,
      reason: 'charged',
      remaining: 4,
    });
  });
  it('charges nothing when no company is found (404 not_found)', async () => {
    await setUp('free', 5);
    expect(await verify(null, 'not_found')).toMatchObject({
      creditsCharged: 0,
      reason: 'not_found',
      remaining: 5,
    });
  });
  it('charges nothing for a loose match (30-93)', async () => {
    await setUp('free', 5);
    expect(await verify(acme, 'loosely_matched')).toMatchObject({
      creditsCharged: 0,
      reason: 'loose_match',
      remaining: 5,
    });
  });
  it('charges once per company: re-verifying within the free grace period of 7 days is free', async () => {
    await setUp('free', 5);
    await verify(acme, 'exactly_matched');
    clock += 6 * day;
    expect(await verify(acme, 'exactly_matched')).toMatchObject({
      creditsCharged: 0,
      reason: 'grace_period',
    });
    clock += 2 * day;
    expect(await verify(acme, 'exactly_matched')).toMatchObject({
      creditsCharged: 1,
      reason: 'charged',
      remaining: 3,
    });
  });
  it('keeps a paid plan’s grace period until the subscription ends', async () => {
    account = await ledger.createAccount({
      name: 'Paid',
      plan: 'basic',
      subscriptionEndsAt: clock + 90 * day,
    });
    key = (await ledger.createApiKey({ accountId: account.id })).key;
    await ledger.grantCredits({ accountId: account.id, amount: 5 });
    await verify(acme, 'exactly_matched');
    clock += 89 * day;
    expect(await verify(acme, 'exactly_matched')).toMatchObject({ reason: 'grace_period' });
    clock += 2 * day;
    expect(await verify(acme, 'exactly_matched')).toMatchObject({ reason: 'charged' });
  });
  it('shares one account’s credits and grace period across its staff users', async () => {
    await setUp('free', 5);
    const bob = (await ledger.createApiKey({ accountId: account.id, staff: 'bob' })).key;
    await verify(acme, 'exactly_matched');
    expect(await verify(acme, 'exactly_matched', bob.id)).toMatchObject({ reason: 'grace_period' });
    expect(await verify(other, 'exactly_matched', bob.id)).toMatchObject({ creditsCharged: 1, remaining: 3 });
  });
  it('charges 100 concurrent verifications of one company by one account exactly once', async () => {
    await setUp('free', 5);
    const charges = await Promise.all(Array.from({ length: 100 }, () => verify(acme, 'exactly_matched')));
    expect(charges.reduce((sum, charge) => sum + charge.creditsCharged, 0)).toBe(1);
    expect(ledger.balance(account.id)).toBe(4);
  });
  it('refuses a free plan with no credits left (403 insufficient_credit) and writes nothing', async () => {
    await setUp('free', 1);
    await verify(acme, 'exactly_matched');
    await expect(verify(other, 'exactly_matched')).rejects.toMatchObject({ code: 'insufficient_credit' });
    expect(await verify(other, 'loosely_matched')).toMatchObject({ creditsCharged: 0 });
  });
  it('lets a paid plan verify past its credits and counts the overage', async () => {
    account = await ledger.createAccount({ name: 'Paid', plan: 'standard' });
    key = (await ledger.createApiKey({ accountId: account.id })).key;
    await ledger.grantCredits({ accountId: account.id, amount: 1 });
    await verify(acme, 'exactly_matched');
    expect(await verify(other, 'exactly_matched')).toMatchObject({
      creditsCharged: 1,
      overage: 1,
      remaining: 0,
    });
  });
  it('draws on smartcheck records before api records, then by priority, earliest expiry (none last) and creation', async () => {
    await setUp('free', 0);
    const api = await ledger.grantCredits({ accountId: account.id, amount: 1, service: 'api' });
    const noExpiry = await ledger.grantCredits({ accountId: account.id, amount: 1 });
    const late = await ledger.grantCredits({ accountId: account.id, amount: 1, expiresAt: clock + 30 * day });
    const soon = await ledger.grantCredits({ accountId: account.id, amount: 1, expiresAt: clock + 10 * day });
    const urgent = await ledger.grantCredits({ accountId: account.id, amount: 1, priority: -1 });
    const order: string[] = [];
    for (const ce of ['ce_a', 'ce_b', 'ce_c', 'ce_d', 'ce_e']) {
      await verify(ce.padEnd(27, 'x'), 'exactly_matched');
      order.push(
        ledger.listCredits(account.id).find((record) => record.used === 1 && !order.includes(record.id))
          ?.id ?? '',
      );
    }
    expect(order).toEqual([urgent.id, soon.id, late.id, noExpiry.id, api.id]);
  });
  it('never draws on other services’ credits', async () => {
    await setUp('free', 0);
    await ledger.grantCredits({ accountId: account.id, amount: 3, service: 'biometric' });
    await expect(verify(acme, 'exactly_matched')).rejects.toMatchObject({ code: 'insufficient_credit' });
  });
  it('does not draw on expired records, and an expiry pass writes one entry per record, twice-safe', async () => {
    await setUp('free', 0);
    await ledger.grantCredits({ accountId: account.id, amount: 3, expiresAt: clock + day });
    clock += 2 * day;
    expect(ledger.balance(account.id)).toBe(0);
    await expect(verify(acme, 'exactly_matched')).rejects.toMatchObject({ code: 'insufficient_credit' });
    expect(await ledger.expireCredits()).toBe(1);
    expect(await ledger.expireCredits()).toBe(0);
    expect(ledger.listCredits(account.id)[0]).toMatchObject({ used: 0, remaining: 0, amount: 0 });
  });
  it('refuses a key over its monthly budget with a typed error', async () => {
    await setUp('free', 10);
    const capped = (await ledger.createApiKey({ accountId: account.id, staff: 'carol', monthlyBudget: 1 }))
      .key;
    await verify(acme, 'exactly_matched', capped.id);
    await expect(verify(other, 'exactly_matched', capped.id)).rejects.toMatchObject({
      code: 'budget_exceeded',
    });
    clock = Date.UTC(2026, 1, 1);
    expect(await verify(other, 'exactly_matched', capped.id)).toMatchObject({ creditsCharged: 1 });
  });
  it('refuses revoked keys, and stores keys only as hashes', async () => {
    await setUp('free', 5);
    const { key: temp, secret } = await ledger.createApiKey({ accountId: account.id, staff: 'temp' });
    expect(ledger.authenticate(secret)?.id).toBe(temp.id);
    await ledger.revokeApiKey(temp.id);
    expect(ledger.authenticate(secret)).toBeUndefined();
    await expect(verify(acme, 'exactly_matched', temp.id)).rejects.toMatchObject({ code: 'key_revoked' });
  });
  it('rejects bad amounts, services, plans and accounts with stable codes and changes nothing', async () => {
    await setUp('free', 5);
    for (const amount of [0, -1, 1.5, Number.NaN, 1e12]) {
      await expect(ledger.grantCredits({ accountId: account.id, amount })).rejects.toMatchObject({
        code: 'invalid_amount',
      });
    }
    await expect(
      ledger.grantCredits({ accountId: account.id, amount: 1, service: 'gold' as never }),
    ).rejects.toMatchObject({ code: 'invalid_service' });
    await expect(ledger.grantCredits({ accountId: 'acct_nobody', amount: 1 })).rejects.toMatchObject({
      code: 'unknown_account',
    });
    await expect(ledger.createAccount({ name: 'X', plan: 'gold' as never })).rejects.toBeInstanceOf(
      LedgerError,
    );
    expect(ledger.listCredits(account.id)).toHaveLength(1);
    expect(ledger.balance(account.id)).toBe(5);
  });
  it('voids what is left of a record and keeps what was used', async () => {
    await setUp('free', 0);
    const record = await ledger.grantCredits({ accountId: account.id, amount: 3 });
    await verify(acme, 'exactly_matched');
    expect(await ledger.voidCredit(record.id)).toMatchObject({ amount: 1, used: 1, remaining: 0 });
    await expect(ledger.voidCredit(record.id)).rejects.toMatchObject({ code: 'credit_voided' });
  });
});

describe('idempotency keys', () => {
  const acme = 'ce_KMi1zsb9CH2EorSzOJ9YEgtV';
  it('replays the stored result for the same key and request, charging nothing; another request is a conflict', async () => {
    let clock = Date.UTC(2026, 0, 15);
    const ledger = new SqliteLedger(join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db'), {
      now: () => clock,
    });
    const account = await ledger.createAccount({ name: 'Idem', plan: 'free' });
    const { key } = await ledger.createApiKey({ accountId: account.id });
    await ledger.grantCredits({ accountId: account.id, amount: 5 });
    const request = {
      accountId: account.id,
      keyId: key.id,
      endpoint: '/company',
      ceId: acme,
      matchType: 'exactly_matched' as const,
    };
    const first = await ledger.recordVerification(request, { key: 'req-1', fingerprint: 'a' });
    const again = await ledger.recordVerification(request, { key: 'req-1', fingerprint: 'a' });
    expect(again).toEqual({ ...first, replayed: true });
    expect(ledger.balance(account.id)).toBe(4);
    await expect(
      ledger.recordVerification(request, { key: 'req-1', fingerprint: 'b' }),
    ).rejects.toMatchObject({ code: 'idempotency_conflict' });
    clock += 23 * 3_600_000;
    expect(await ledger.purgeIdempotencyKeys()).toBe(0);
    clock += 2 * 3_600_000;
    expect(await ledger.purgeIdempotencyKeys()).toBe(1);
    expect(ledger.check().differences).toEqual([]);
    await ledger.close();
  });
});

describe('events for webhooks and usage tracking', () => {
  const day = 24 * 3_600_000;
  const ce = (n: number) => `ce_${String(n).padStart(24, '0')}`;

  it('writes each event once, with a stable id, in the transaction that causes it', async () => {
    let clock = Date.UTC(2026, 0, 15);
    const ledger = new SqliteLedger(join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db'), {
      now: () => clock,
    });
    const account = await ledger.createAccount({ name: 'Events', plan: 'free', balanceThresholds: [3, 1] });
    const { key } = await ledger.createApiKey({ accountId: account.id });
    const capped = (await ledger.createApiKey({ accountId: account.id, staff: 'capped', monthlyBudget: 0 }))
      .key;
    const granted = await ledger.grantCredits({ accountId: account.id, amount: 4 });
    const verify = (n: number, keyId = key.id) =>
      ledger.recordVerification({
        accountId: account.id,
        keyId,
        endpoint: '/company',
        ceId: ce(n),
        matchType: 'exactly_matched',
      });
    for (const n of [1, 2, 3, 4]) await verify(n);
    await expect(verify(9, capped.id)).rejects.toMatchObject({ code: 'budget_exceeded' });
    await expect(verify(10, capped.id)).rejects.toMatchObject({ code: 'budget_exceeded' });
    await ledger.grantCredits({ accountId: account.id, amount: 2, expiresAt: clock + 5 * day });
    await ledger.expireCredits();
    await ledger.expireCredits();
    const events = ledger.events();
    expect(events.map((event) => event.type)).toEqual([
      'credits.granted',
      'balance.below_threshold',
      'balance.below_threshold',
      'balance.depleted',
      'budget.exceeded',
      'credits.granted',
      'credits.expiring_soon',
    ]);
    expect(events[0]?.id).toBe(`evt_granted_${granted.id}`);
    expect(events.slice(1, 3).map((event) => event.payload.threshold)).toEqual([3, 1]);
    expect(new Set(events.map((event) => event.id)).size).toBe(events.length);
    expect(ledger.events(events[2]?.sequence).map((event) => event.type)[0]).toBe('balance.depleted');
    clock += 6 * day;
    await ledger.expireCredits();
    expect(ledger.events(events.at(-1)?.sequence).map((event) => event.type)).toEqual(['credits.expired']);
    await ledger.close();
  });

  it('summarises every verification, charged or not, by day, staff user and endpoint', async () => {
    let clock = Date.UTC(2026, 0, 15, 12);
    const ledger = new SqliteLedger(join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db'), {
      now: () => clock,
    });
    const account = await ledger.createAccount({ name: 'Usage', plan: 'basic' });
    const alice = (await ledger.createApiKey({ accountId: account.id, staff: 'alice' })).key;
    const bob = (await ledger.createApiKey({ accountId: account.id, staff: 'bob' })).key;
    await ledger.grantCredits({ accountId: account.id, amount: 10 });
    await ledger.recordVerification({
      accountId: account.id,
      keyId: alice.id,
      endpoint: '/company',
      ceId: ce(1),
      matchType: 'exactly_matched',
    });
    await ledger.recordVerification({
      accountId: account.id,
      keyId: alice.id,
      endpoint: '/company',
      ceId: ce(2),
      matchType: 'loosely_matched',
    });
    clock += day;
    await ledger.recordVerification({
      accountId: account.id,
      keyId: bob.id,
      endpoint: '/bulk-companies',
      ceId: ce(3),
      matchType: 'exactly_matched',
    });
    await ledger.recordVerification({
      accountId: account.id,
      keyId: bob.id,
      endpoint: '/bulk-companies',
      ceId: null,
      matchType: 'not_found',
    });
    expect(ledger.usage(account.id, { by: 'day' })).toEqual([
      { group: '2026-01-15', verifications: 2, charged: 1, credits: 1, overage: 0 },
      { group: '2026-01-16', verifications: 2, charged: 1, credits: 1, overage: 0 },
    ]);
    expect(ledger.usage(account.id, { by: 'staff' }).map((row) => [row.group, row.verifications])).toEqual([
      ['alice', 2],
      ['bob', 2],
    ]);
    expect(
      ledger.usage(account.id, { by: 'endpoint', from: Date.UTC(2026, 0, 16) }).map((row) => row.group),
    ).toEqual(['/bulk-companies']);
    expect(
      ledger.usage(account.id, { by: 'service' }).map((row) => [row.group, row.verifications, row.credits]),
    ).toEqual([
      ['none', 2, 0],
      ['smartcheck', 2, 2],
    ]);
    await ledger.close();
  });
});

describe('two processes on one ledger', () => {
  it('refuses a key revoked by another connection (the writer drops its caches when another one commits)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db');
    const service = new SqliteLedger(path);
    const admin = new SqliteLedger(path);
    const account = await service.createAccount({ name: 'Two', plan: 'basic' });
    const { key, secret } = await service.createApiKey({ accountId: account.id });
    expect(service.authenticate(secret)?.id).toBe(key.id);
    const verify = (ceId: string) =>
      service.recordVerification({
        accountId: account.id,
        keyId: key.id,
        endpoint: '/company',
        ceId,
        matchType: 'exactly_matched',
      });
    await admin.grantCredits({ accountId: account.id, amount: 5 });
    expect(await verify('ce_000000000000000000000001')).toMatchObject({ creditsCharged: 1, remaining: 4 });
    await admin.revokeApiKey(key.id);
    expect(service.authenticate(secret)).toBeUndefined();
    await expect(verify('ce_000000000000000000000002')).rejects.toMatchObject({ code: 'key_revoked' });
    await Promise.all([service.close(), admin.close()]);
  });
});

describe('the ledger file itself', () => {
  it('refuses an entry of an unknown kind, and any UPDATE or DELETE of entries, whatever connection writes', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ledger-')), 'ledger.db');
    const ledger = new SqliteLedger(path);
    const account = await ledger.createAccount({ name: 'Raw', plan: 'basic' });
    const record = await ledger.grantCredits({ accountId: account.id, amount: 3 });
    await ledger.close();
    const raw = new Database(path);
    const insert = (kind: string) =>
      raw
        .prepare(
          'INSERT INTO entries (account_id, credit_id, kind, amount, verification_id, created_at) VALUES (?, ?, ?, 1, NULL, 0)',
        )
        .run(account.id, record.id, kind);
    expect(() => insert('refund')).toThrow(/CHECK constraint failed/);
    expect(() => raw.prepare('UPDATE entries SET amount = 2').run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM entries').run()).toThrow(/append-only/);
    expect(raw.prepare('SELECT kind, amount FROM entries').all()).toEqual([{ kind: 'grant', amount: 3 }]);
    raw.close();
  });
});
