import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryEntities } from '../../src/data/generate-registry.js';
import {
  type CertifiedEntityRecord,
  createMatcher,
  type Matcher,
  QueryValidationError,
  ScoringFailedError,
} from '../../src/engine/index.js';

const entity = (
  ce: string,
  name: string,
  country: string,
  extra: Partial<CertifiedEntityRecord> = {},
): CertifiedEntityRecord => ({
  ce_id: `ce_${ce.padEnd(24, '0')}`,
  certified_entity_name: name,
  country,
  ...extra,
});

const registry: CertifiedEntityRecord[] = [
  entity('acme', 'Acme Engineering Limited', 'GB', { company_identifiers: { vat: 'GB 123 4567 89' } }),
  entity('acmeservices', 'Acme Engineering Services Ltd', 'GB'),
  entity('acmede', 'Acme Engineering GmbH', 'DE', { company_identifiers: { vat: 'DE123456789' } }),
  entity('siemens', 'Siemens Aktiengesellschaft', 'DE', { certified_entity_english_name: 'Siemens AG' }),
  entity('fund3', 'Northwind Fund III LP', 'US'),
  entity('fund4', 'Northwind Fund IV LP', 'US'),
  entity('gas', 'Nordic Gas AS', 'NO'),
  entity('sib', 'ООО Сибирские Технологии', 'RU', {
    certified_entity_english_name: 'Siberian Technologies LLC',
  }),
  entity('twinGmbh', 'Brixton Werkzeug GmbH', 'DE'),
  entity('twinAg', 'Brixton Werkzeug AG', 'DE'),
  entity('mueller', 'Müller Maschinenbau GmbH', 'DE'),
];

describe('the matcher', () => {
  let matcher: Matcher;
  beforeAll(async () => {
    matcher = await createMatcher({ entities: registry }, { threads: 1 });
  });
  afterAll(() => matcher.close());

  const best = async (request: object) => (await matcher.matchCompany(request))[0];

  it('finds the entity a customer means and calls it exactly matched', async () => {
    const result = await best({ company_name: 'ACME ENGINEERING LTD.', company_country: 'United Kingdom' });
    expect(result).toMatchObject({
      ce_id: registry[0]?.ce_id,
      match_type: 'exactly_matched',
      match_score: 100,
    });
  });
  it('accepts the country as a name, alpha-2 or alpha-3', async () => {
    for (const company_country of ['Germany', 'DE', 'DEU', 'deutschland']) {
      expect((await best({ company_name: 'Siemens AG', company_country }))?.ce_id).toBe(registry[3]?.ce_id);
    }
  });
  it('matches the English name of a Cyrillic entity exactly', async () => {
    expect(await best({ company_name: 'Siberian Technologies LLC', company_country: 'RU' })).toMatchObject({
      ce_id: registry[7]?.ce_id,
      match_type: 'exactly_matched',
    });
  });
  it('matches by identifier in the stated country, whatever its formatting', async () => {
    const result = await best({ company_country: 'GB', company_identifiers: { vat: 'gb123456789' } });
    expect(result).toMatchObject({
      ce_id: registry[0]?.ce_id,
      match_type: 'exactly_matched',
      matched_by: 'identifier',
    });
  });
  it('lets the identifier win when the name is exactly another company', async () => {
    const results = await matcher.matchCompany(
      {
        company_name: 'Acme Engineering Services Ltd',
        company_country: 'GB',
        company_identifiers: { vat: 'GB123456789' },
      },
      { top: 2 },
    );
    expect(results.map((r) => [r.ce_id, r.match_type])).toEqual([[registry[0]?.ce_id, 'exactly_matched']]);
    const withLoose = await matcher.matchCompany(
      {
        company_name: 'Acme Engineering Services Ltd',
        company_country: 'GB',
        company_identifiers: { vat: 'GB123456789' },
        match_rate: 30,
      },
      { top: 2 },
    );
    expect(withLoose[1]).toMatchObject({
      ce_id: registry[1]?.ce_id,
      match_type: 'loosely_matched',
      match_score: 93,
    });
  });
  it('does not match an identifier stated for another country', async () => {
    expect(
      await matcher.matchCompany({ company_country: 'FR', company_identifiers: { vat: 'DE123456789' } }),
    ).toEqual([]);
  });
  it('returns nothing below the match rate, and loose answers for review when the rate allows', async () => {
    const request = { company_name: 'Acme Engneering Ltd', company_country: 'GB' };
    expect(await matcher.matchCompany(request)).toEqual([]);
    const loose = await matcher.matchCompany({ ...request, match_rate: '80%' });
    expect(loose[0]).toMatchObject({ ce_id: registry[0]?.ce_id, match_type: 'loosely_matched' });
  });
  it('never matches numbered siblings exactly', async () => {
    const results = await matcher.matchCompany(
      { company_name: 'Northwind Fund V LP', company_country: 'US', match_rate: 30 },
      { top: 3 },
    );
    expect(results.every((r) => r.match_type !== 'exactly_matched')).toBe(true);
  });
  it('applies the short-name rule: two words or fewer are exact only when every word matches', async () => {
    const result = await best({ company_name: 'Nordic Oil AS', company_country: 'NO', match_rate: 30 });
    expect(result?.match_type).not.toBe('exactly_matched');
  });
  it('withholds the exact band when two entities cannot be told apart', async () => {
    const result = await best({ company_name: 'Brixton Werkzeug', company_country: 'DE', match_rate: 30 });
    expect(result).toMatchObject({ match_type: 'loosely_matched', match_score: 93 });
    const exact = await best({ company_name: 'Brixton Werkzeug GmbH', company_country: 'DE' });
    expect(exact).toMatchObject({ ce_id: registry[8]?.ce_id, match_type: 'exactly_matched' });
  });
  it('ranks results best first and explains each on request', async () => {
    const results = await matcher.matchCompany(
      { company_name: 'Acme Engineering', company_country: 'GB', match_rate: 30 },
      { top: 3, explain: true },
    );
    expect(results.map((r) => r.ce_id)).toEqual([registry[0]?.ce_id, registry[1]?.ce_id]);
    expect(results[0]?.explanation?.name?.aligned.length).toBe(2);
  });
  it('answers a bulk request item by item, with an error for a bad item', async () => {
    const items = await matcher.matchCompanies([
      { company_name: 'Siemens AG', company_country: 'DE' },
      { company_name: 'Siemens AG', company_country: 'Atlantis' },
    ]);
    expect(items[0]).toMatchObject({ companies_request_index: 0, results: [{ ce_id: registry[3]?.ce_id }] });
    expect(items[1]).toMatchObject({ companies_request_index: 1, error: { code: 'validation_error' } });
  });

  describe('rejects bad input with a clear error and never a crash', () => {
    const cases: [string, unknown, string][] = [
      ['a body that is not an object', 'Acme', '(body)'],
      ['a missing country', { company_name: 'Acme' }, 'company_country'],
      ['an unknown country', { company_name: 'Acme', company_country: 'Atlantis' }, 'company_country'],
      ['an empty name and no identifiers', { company_name: '   ', company_country: 'GB' }, 'company_name'],
      ['a name of only punctuation', { company_name: '!!! ...', company_country: 'GB' }, 'company_name'],
      ['a name of only a legal form', { company_name: 'Limited', company_country: 'GB' }, 'company_name'],
      ['a 10 kB name', { company_name: 'A'.repeat(10_240), company_country: 'GB' }, 'company_name'],
      [
        'a malformed identifier',
        { company_country: 'GB', company_identifiers: { vat: '1' } },
        'company_identifiers.vat',
      ],
      [
        'an unknown identifier type',
        { company_country: 'GB', company_identifiers: { passport: 'X1234567' } },
        'company_identifiers.passport',
      ],
    ];
    for (const [what, body, field] of cases) {
      it(`reports ${what}`, async () => {
        const error = await matcher.matchCompany(body).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(QueryValidationError);
        expect((error as QueryValidationError).errors.map((e) => e.field)).toContain(field);
      });
    }
    it('lists every failing field at once', async () => {
      const error = (await matcher
        .matchCompany({ company_name: 42, company_country: 'Nowhere' })
        .catch((e: unknown) => e)) as QueryValidationError;
      expect(error.errors.map((e) => e.field).sort()).toEqual(['company_country', 'company_name']);
    });
    it('strips control characters instead of failing', async () => {
      expect(
        (await best({ company_name: 'Acme\u0000 Engineering\u0007 Ltd', company_country: 'GB' }))
          ?.match_score,
      ).toBe(100);
    });
  });

  it('answers any JSON body with results or a validation error, never a crash (fuzz)', async () => {
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          company_name: fc.oneof(fc.string({ maxLength: 600 }), fc.jsonValue()),
          company_country: fc.oneof(fc.constantFrom('GB', 'DE', 'Germany', 'deu', 'RU', ''), fc.jsonValue()),
          company_identifiers: fc.oneof(
            fc.dictionary(fc.constantFrom('vat', 'tax_id', 'duns_number', 'x'), fc.jsonValue()),
            fc.jsonValue(),
          ),
          match_rate: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, async (request) => {
        try {
          const results = await matcher.matchCompany(request, { top: 3 });
          expect(Array.isArray(results)).toBe(true);
          for (const result of results) expect(result.match_score).toBeGreaterThanOrEqual(30);
        } catch (error) {
          expect(error).toBeInstanceOf(QueryValidationError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('skips entities it cannot index and reports each', async () => {
    const problems: string[] = [];
    const small = await createMatcher(
      {
        entities: [
          entity('ok', 'Fine Ltd', 'GB'),
          { ce_id: 'bad' } as CertifiedEntityRecord,
          entity('nowhere', 'X Ltd', 'Atlantis'),
        ],
      },
      { threads: 0, onInvalidEntity: (p) => problems.push(p.message) },
    );
    expect(small.entityCount).toBe(1);
    expect(problems).toHaveLength(2);
    await small.close();
  });
});

describe('the scoring pool', () => {
  const generated = [...registryEntities({ count: 3000, seed: 'pool', certificates: false })];
  const queries = generated.slice(0, 400).map((e, i) => ({
    company_name: i % 2 === 0 ? e.certified_entity_name : `${e.certified_entity_name.slice(0, -3)}xx`,
    company_country: e.country,
    match_rate: 30,
  }));

  it('gives identical scores in worker threads and on the main thread', async () => {
    const inWorkers = await createMatcher({ entities: generated }, { threads: 2 });
    const inline = await createMatcher({ entities: generated }, { threads: 0 });
    const a = await inWorkers.matchCompanies(queries, { top: 5 });
    const b = await inline.matchCompanies(queries, { top: 5 });
    expect(a).toEqual(b);
    await Promise.all([inWorkers.close(), inline.close()]);
  });

  it('replaces a worker that dies mid-batch and retries its batch, losing no query', async () => {
    // One task sent at once (batchPairsTarget 1) and long enough (~200k pairs) to be running when its worker dies.
    const matcher = await createMatcher({ entities: generated }, { threads: 1, batchPairsTarget: 1 });
    const reference = await createMatcher({ entities: generated }, { threads: 0 });
    const query = { tokens: ['acme', 'engineering'], legalForm: 0, country: 1 };
    const records = Array.from({ length: 200_000 }, (_, i) => i % matcher.stats.nameRecords);
    const pending = matcher.scoringPool.score(query, records);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await matcher.scoringPool.workerThreads[0]?.terminate();
    const scores = await pending;
    expect(matcher.scoringPool.stats.tasksRetried).toBeGreaterThanOrEqual(1);
    expect(scores).toEqual(await reference.scoringPool.score(query, records));
    await Promise.all([matcher.close(), reference.close()]);
  });

  it('fails the queries of a batch whose worker keeps dying with ScoringFailedError, never dropping them', async () => {
    // One task sent at once (batchPairsTarget 1) and long enough (~200k pairs) to be running when its worker dies.
    const matcher = await createMatcher(
      { entities: generated },
      { threads: 1, retriesMax: 0, batchPairsTarget: 1 },
    );
    const records = Array.from({ length: 200_000 }, (_, i) => i % matcher.stats.nameRecords);
    const pending = matcher.scoringPool.score(
      { tokens: ['acme', 'engineering'], legalForm: 0, country: 1 },
      records,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    await matcher.scoringPool.workerThreads[0]?.terminate();
    await expect(pending).rejects.toBeInstanceOf(ScoringFailedError);
    await matcher.close();
  });
});
