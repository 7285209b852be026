/**
 * Every rule of the seed's credit page, through the HTTP API (buildApp + inject): what each answer costs,
 * and that it says so in its headers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertifiedEntityRecord } from '../../src/engine/index.js';
import { adminKey, type ServiceFixture, serviceFixture } from '../support/service-fixture.js';

let service: ServiceFixture;
let exact: { company_name: string; company_country: string };
let loose: { company_name: string; company_country: string; match_rate: number };
let company: CertifiedEntityRecord;

beforeAll(async () => {
  service = await serviceFixture();
  // The entity with the most certificates: charged once all the same.
  company = [...service.entities].sort(
    (a, b) => (b.certificates?.length ?? 0) - (a.certificates?.length ?? 0),
  )[0] as CertifiedEntityRecord;
  exact = { company_name: company.certified_entity_name, company_country: company.country };
  // A query the engine answers in the loose band (30-93): found here, so the test does not hard-code scores.
  for (const entity of service.entities) {
    const words = entity.certified_entity_name.split(' ');
    for (const name of [words.slice(0, -2).join(' '), `${words[0]} Nordic Maritime Holdings`]) {
      const [best] = await service.matcher.matchCompany({
        company_name: name,
        company_country: entity.country,
        match_rate: 30,
      });
      if (best?.match_type === 'loosely_matched') {
        loose = { company_name: name, company_country: entity.country, match_rate: 30 };
        return;
      }
    }
  }
  throw new Error('no loose query found in the generated registry');
});
afterAll(() => service.close());

const post = (url: string, headers: Record<string, string>, payload: unknown) =>
  service.app.inject({ method: 'POST', url, headers, payload: payload as object });
const credits = (response: { headers: Record<string, unknown> }) => ({
  charged: Number(response.headers['x-credits-charged']),
  remaining: Number(response.headers['x-credits-remaining']),
});

describe("the seed's credit rules, through the HTTP API", () => {
  it('charges one credit for an exact match and says so in X-Credits-Charged and X-Credits-Remaining', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company', buyer.headers, exact);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ ce_id: company.ce_id, match_type: 'exactly_matched' });
    expect(credits(response)).toEqual({ charged: 1, remaining: 4 });
  });

  it('charges per company, not per certificate: all its certificates come back for one credit', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company', buyer.headers, exact);
    expect(response.json().certificates).toHaveLength(company.certificates?.length ?? 0);
    expect((company.certificates?.length ?? 0) > 1).toBe(true);
    expect(credits(response).charged).toBe(1);
  });

  it('answers 401 unauthorized to a missing, unknown or revoked key, charging nothing', async () => {
    const buyer = await service.account('free', 5);
    for (const headers of [{}, { 'x-http-authorization': 'cm_not_a_key' }] as Record<string, string>[]) {
      const response = await post('/company', headers, exact);
      expect(response.statusCode).toBe(401);
      expect(response.json()).toMatchObject({ code: 'unauthorized', status: 401, instance: '/company' });
    }
    await service.ledger.revokeApiKey(buyer.keyId);
    expect((await post('/company', buyer.headers, exact)).statusCode).toBe(401);
    expect(service.ledger.balance(buyer.id)).toBe(5);
    expect(service.ledger.usage(buyer.id, { by: 'endpoint' })).toEqual([]);
  });

  it('answers 400 validation_error listing every failing field, charging nothing', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company', buyer.headers, { company_name: 42, company_identifiers: 'x' });
    expect(response.statusCode).toBe(400);
    const fields = response.json().errors.map((error: { field: string }) => error.field);
    expect(fields).toEqual(expect.arrayContaining(['company_country', 'company_identifiers']));
    const semantic = await post('/company', buyer.headers, { company_country: 'Atlantis' });
    expect(semantic.statusCode).toBe(400);
    expect(semantic.json().code).toBe('validation_error');
    expect(service.ledger.balance(buyer.id)).toBe(5);
  });

  it('answers 404 not_found when nothing scores at or above match_rate, charging nothing', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company', buyer.headers, {
      company_name: 'Zyxwvut Qponmlk Unheard Of',
      company_country: company.country,
    });
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('not_found');
    expect(credits(response)).toEqual({ charged: 0, remaining: 5 });
  });

  it('returns a loose match (30-93) for review without charging', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company', buyer.headers, loose);
    expect(response.statusCode).toBe(200);
    expect(response.json().match_type).toBe('loosely_matched');
    expect(response.json().match_score).toBeLessThan(94);
    expect(credits(response)).toEqual({ charged: 0, remaining: 5 });
  });

  it('re-verifies the same company within the grace period for free, whichever staff user asks', async () => {
    const buyer = await service.account('free', 5);
    expect(credits(await post('/company', buyer.headers, exact)).charged).toBe(1);
    expect(credits(await post('/company', buyer.headers, exact))).toEqual({ charged: 0, remaining: 4 });
    const { secret } = await service.ledger.createApiKey({ accountId: buyer.id, staff: 'bob' });
    const bob = await post('/company', { 'x-http-authorization': secret }, exact);
    expect(credits(bob)).toEqual({ charged: 0, remaining: 4 });
  });

  it('refuses an exact match with 403 insufficient_credit on a free plan without credits, but answers loose matches free', async () => {
    const buyer = await service.account('free', 0);
    const refused = await post('/company', buyer.headers, exact);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('insufficient_credit');
    expect((await post('/company', buyer.headers, loose)).statusCode).toBe(200);
  });

  it('lets a paid plan run past its credits, counted as overage', async () => {
    const buyer = await service.account('basic', 0);
    const response = await post('/company', buyer.headers, exact);
    expect(response.statusCode).toBe(200);
    expect(response.headers['x-credits-overage']).toBe('1');
    expect(credits(response)).toEqual({ charged: 1, remaining: 0 });
  });

  it('refuses with 403 api_request_limit_reached when a key would pass its monthly budget', async () => {
    const buyer = await service.account('basic', 10, { monthlyBudget: 1 });
    expect((await post('/company', buyer.headers, exact)).statusCode).toBe(200);
    const other = service.entities.find((entity) => entity.ce_id !== company.ce_id) as CertifiedEntityRecord;
    const refused = await post('/company', buyer.headers, {
      company_name: other.certified_entity_name,
      company_country: other.country,
    });
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('api_request_limit_reached');
    expect(service.ledger.balance(buyer.id)).toBe(9);
  });

  it('charges bulk requests one credit per exactly matched company, once per company, with each result indexed', async () => {
    const buyer = await service.account('free', 10);
    const response = await post('/bulk-companies', buyer.headers, {
      companies: [exact, loose, { company_name: 'x' }, exact],
    });
    expect(response.statusCode).toBe(200);
    const results = response.json().results;
    expect(
      results.map((result: { companies_request_index: number }) => result.companies_request_index),
    ).toEqual([0, 1, 2, 3]);
    expect(results[0].match_type).toBe('exactly_matched');
    expect(results[1].match_type).toBe('loosely_matched');
    expect(results[2].error.code).toBe('validation_error');
    expect(results[3].ce_id).toBe(company.ce_id);
    expect(credits(response)).toEqual({ charged: 1, remaining: 9 });
  });

  it('never charges /match-companies, even for exact candidates, and caps match_result_count at 10', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/match-companies', buyer.headers, {
      ...exact,
      match_rate: 30,
      match_result_count: 50,
    });
    expect(response.statusCode).toBe(200);
    const results = response.json().results;
    expect(results[0]).toMatchObject({ ce_id: company.ce_id, match_type: 'exactly_matched' });
    expect(results.length).toBeLessThanOrEqual(10);
    expect(results[0].certificates).toBeUndefined();
    expect(credits(response)).toEqual({ charged: 0, remaining: 5 });
  });

  it('charges GET /company/{ce_id} one credit per id that returns data, free again within the grace period', async () => {
    const buyer = await service.account('free', 5);
    const [a, b] = service.entities as [CertifiedEntityRecord, CertifiedEntityRecord];
    const unknown = 'ce_000000000000000000000000';
    const one = await service.app.inject({
      method: 'GET',
      url: `/company/${a.ce_id}`,
      headers: buyer.headers,
    });
    expect(one.json()).toMatchObject({ ce_id: a.ce_id, match_score: 100, match_type: 'exactly_matched' });
    expect(credits(one).charged).toBe(1);
    const list = await service.app.inject({
      method: 'GET',
      url: `/company/${a.ce_id},${b.ce_id},${unknown}`,
      headers: buyer.headers,
    });
    expect(list.json().results.map((r: { ce_id: string }) => r.ce_id)).toEqual([a.ce_id, b.ce_id, unknown]);
    expect(list.json().results[2].error.code).toBe('not_found');
    expect(credits(list)).toEqual({ charged: 1, remaining: 3 });
    const missing = await service.app.inject({
      method: 'GET',
      url: `/company/${unknown}`,
      headers: buyer.headers,
    });
    expect(missing.statusCode).toBe(404);
  });

  it('never charges a HEAD request, which carries no data', async () => {
    const buyer = await service.account('free', 5);
    const head = await service.app.inject({
      method: 'HEAD',
      url: `/company/${company.ce_id}`,
      headers: buyer.headers,
    });
    expect(head.statusCode).toBe(404);
    expect(service.ledger.balance(buyer.id)).toBe(5);
  });

  it('charges POST /bulk-company-by-id one credit per valid id that returns data', async () => {
    const buyer = await service.account('free', 5);
    const ids = service.entities.slice(10, 13).map((entity) => entity.ce_id);
    const response = await post('/bulk-company-by-id', buyer.headers, {
      ce_ids: [...ids, 'ce_000000000000000000000000'],
    });
    expect(response.statusCode).toBe(200);
    expect(credits(response)).toEqual({ charged: 3, remaining: 2 });
    const invalid = await post('/bulk-company-by-id', buyer.headers, { ce_ids: ['nope'] });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.json().errors[0].field).toBe('ce_ids[0]');
  });

  it('charges GET /certificate/{cert_id} one credit on success, and nothing for an unknown one', async () => {
    const buyer = await service.account('free', 5);
    const certificate = company.certificates?.[0];
    const response = await service.app.inject({
      method: 'GET',
      url: `/certificate/${certificate?.cert_id}`,
      headers: buyer.headers,
    });
    expect(response.json()).toEqual(certificate);
    expect(credits(response).charged).toBe(1);
    const unknown = await service.app.inject({
      method: 'GET',
      url: '/certificate/cert_000000000000000000000000',
      headers: buyer.headers,
    });
    expect(unknown.statusCode).toBe(404);
    expect(credits(unknown)).toEqual({ charged: 0, remaining: 4 });
  });

  it('replays a POST with the same Idempotency-Key without charging again; another body with it is a conflict', async () => {
    const buyer = await service.account('free', 5);
    const headers = { ...buyer.headers, 'idempotency-key': 'retry-7' };
    const first = await post('/company', headers, exact);
    const again = await post('/company', headers, exact);
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(service.ledger.balance(buyer.id)).toBe(4);
    const conflict = await post('/company', headers, loose);
    expect(conflict.statusCode).toBe(409);
    expect(conflict.json().code).toBe('idempotency_conflict');
  });

  it('applies match_rate as the seed says: "90%" is read, below 30 is raised to 30', async () => {
    const buyer = await service.account('free', 5);
    expect((await post('/company', buyer.headers, { ...loose, match_rate: '99%' })).statusCode).toBe(404);
    expect((await post('/company', buyer.headers, { ...loose, match_rate: 5 })).statusCode).toBe(200);
  });

  it('adds the score explanation with ?explain=true', async () => {
    const buyer = await service.account('free', 5);
    const response = await post('/company?explain=true', buyer.headers, loose);
    expect(response.json().match_explanation.name.score).toBe(response.json().match_score);
  });

  it('lists, filters and fetches credit records in the vendor shape; 404 "Credit not found" for another account\'s', async () => {
    const buyer = await service.account('free', 5);
    const other = await service.account('free', 5);
    const list = await service.app.inject({
      method: 'GET',
      url: '/v2/credits?status=active',
      headers: buyer.headers,
    });
    expect(list.json().meta).toMatchObject({ total_rows: 1, limit: 20, offset: 0 });
    const [record] = list.json().data;
    expect(Object.keys(record).sort()).toEqual(
      [
        'amount',
        'createdAt',
        'description',
        'expiresAt',
        'id',
        'remaining',
        'service',
        'status',
        'updatedAt',
        'used',
      ].sort(),
    );
    const one = await service.app.inject({
      method: 'GET',
      url: `/v2/credits/${record.id}`,
      headers: buyer.headers,
    });
    expect(one.json()).toEqual(record);
    const foreign = await service.app.inject({
      method: 'GET',
      url: `/v2/credits/${record.id}`,
      headers: other.headers,
    });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json().detail).toBe('Credit not found');
  });

  it('grants credits on POST /v2/credits for the admin key only, once per Idempotency-Key', async () => {
    const buyer = await service.account('free', 0);
    const grant = { account_id: buyer.id, amount: 7, service: 'api' };
    const refused = await post('/v2/credits', buyer.headers, grant);
    expect(refused.statusCode).toBe(403);
    const admin = { 'x-http-authorization': adminKey, 'idempotency-key': `order-${buyer.id}` };
    expect((await post('/v2/credits', admin, grant)).statusCode).toBe(201);
    expect((await post('/v2/credits', admin, grant)).statusCode).toBe(201);
    expect(service.ledger.balance(buyer.id)).toBe(7);
    const bad = await post(
      '/v2/credits',
      { 'x-http-authorization': adminKey },
      { account_id: buyer.id, amount: -1.5 },
    );
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors[0].field).toBe('amount');
  });

  it('summarises usage by endpoint and by staff user on GET /v2/usage', async () => {
    const buyer = await service.account('free', 5);
    await post('/company', buyer.headers, exact);
    await post('/company', buyer.headers, loose);
    const usage = await service.app.inject({
      method: 'GET',
      url: '/v2/usage?by=staff',
      headers: buyer.headers,
    });
    expect(usage.json().data).toEqual([
      { group: 'alice', verifications: 2, charged: 1, credits: 1, overage: 0 },
    ]);
  });
});
