/**
 * What holds under load and abuse: 100 parallel verifications of one company cost one credit; 10,000 random
 * and malformed requests get only 4xx (or a proper answer), never a 5xx, and leave the credits untouched.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CertifiedEntityRecord } from '../../src/engine/index.js';
import { type ServiceFixture, serviceFixture } from '../support/service-fixture.js';

let service: ServiceFixture;
beforeAll(async () => {
  service = await serviceFixture();
});
afterAll(() => service.close());

describe('the service under load and abuse', () => {
  it('charges exactly one credit for 100 parallel verifications of one company by one account', async () => {
    const buyer = await service.account('free', 50);
    const company = service.entities[3] as CertifiedEntityRecord;
    const body = { company_name: company.certified_entity_name, company_country: company.country };
    const responses = await Promise.all(
      Array.from({ length: 100 }, () =>
        service.app.inject({ method: 'POST', url: '/company', headers: buyer.headers, payload: body }),
      ),
    );
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    const charged = responses.reduce(
      (sum, response) => sum + Number(response.headers['x-credits-charged']),
      0,
    );
    expect(charged).toBe(1);
    expect(service.ledger.balance(buyer.id)).toBe(49);
    expect(service.ledger.check().differences).toEqual([]);
  });

  it('answers 10,000 random and malformed requests with 4xx or a proper answer, never a 5xx, credits unchanged', async () => {
    const buyer = await service.account('free', 20);
    const seed = Number(process.env.SERVICE_FUZZ_SEED ?? Date.now() % 2 ** 31);
    console.log(`service fuzz seed: ${seed} (rerun with SERVICE_FUZZ_SEED=${seed})`);
    const paths = [
      '/company',
      '/bulk-companies',
      '/match-companies',
      '/bulk-company-by-id',
      '/company/ce_000000000000000000000000',
      '/company/,,,',
      '/company/%00',
      '/certificate/x',
      '/v2/credits',
      '/v2/credits/nope',
      '/v2/usage?by=week',
      '/v2/usage?from=yesterday',
      '/v2/webhooks',
      '/v2/webhooks/x/deliveries',
      '/reconcile',
      '/reconcile?queries=%7B',
      '/nowhere',
      '/company?explain=maybe',
    ];
    // Names never in the registry (random letters), so no request can be an exact, charged match.
    const body = fc.oneof(
      fc.jsonValue(),
      fc.string({ maxLength: 300 }),
      fc.record(
        {
          company_name: fc.oneof(
            fc.string({ maxLength: 600 }),
            fc.integer(),
            fc.constant(null),
            fc.array(fc.string()),
          ),
          company_country: fc.oneof(
            fc.constantFrom('DE', 'GB', 'Atlantis', '', 'deu'),
            fc.integer(),
            fc.string(),
          ),
          company_identifiers: fc.oneof(
            fc.dictionary(fc.string(), fc.jsonValue()),
            fc.string(),
            fc.constant(null),
          ),
          match_rate: fc.jsonValue(),
          match_result_count: fc.jsonValue(),
          companies: fc.oneof(fc.array(fc.jsonValue(), { maxLength: 120 }), fc.string()),
          ce_ids: fc.oneof(fc.array(fc.string(), { maxLength: 5 }), fc.jsonValue()),
          queries: fc.jsonValue(),
        },
        { requiredKeys: [] },
      ),
    );
    const request = fc.record({
      method: fc.oneof(
        { weight: 6, arbitrary: fc.constant('POST') },
        { weight: 3, arbitrary: fc.constant('GET') },
        { weight: 1, arbitrary: fc.constantFrom('PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD') },
      ),
      // Always origin-form (one leading slash): the injector cannot send other request targets.
      path: fc.oneof(
        { weight: 9, arbitrary: fc.constantFrom(...paths) },
        { weight: 1, arbitrary: fc.webPath().map((path) => `/${path.replace(/^\/+/, '')}`) },
      ),
      body,
      raw: fc.boolean(),
      contentType: fc.oneof(
        { weight: 6, arbitrary: fc.constant('application/json') },
        {
          weight: 1,
          arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', undefined),
        },
      ),
      key: fc.oneof(
        { weight: 6, arbitrary: fc.constant('valid') },
        { weight: 1, arbitrary: fc.constantFrom('none', 'garbage', 'empty') },
      ),
      idempotencyKey: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
    });
    const samples = fc.sample(request, { seed, numRuns: 10_000 });
    const before = JSON.stringify(service.ledger.listCredits(buyer.id));
    const statuses = new Map<number, number>();
    for (let i = 0; i < samples.length; i += 200) {
      const responses = await Promise.all(
        samples.slice(i, i + 200).map((sample) => {
          const headers: Record<string, string> = {};
          if (sample.key === 'valid') headers['x-http-authorization'] = buyer.headers['x-http-authorization'];
          if (sample.key === 'garbage') headers['x-http-authorization'] = '\u00ff garbage';
          if (sample.key === 'empty') headers['x-http-authorization'] = '';
          if (sample.contentType) headers['content-type'] = sample.contentType;
          if (sample.idempotencyKey !== undefined) headers['idempotency-key'] = sample.idempotencyKey;
          const hasBody = sample.method !== 'GET' && sample.method !== 'HEAD';
          const payload = hasBody
            ? sample.raw && typeof sample.body === 'string'
              ? sample.body
              : (JSON.stringify(sample.body) ?? '')
            : undefined;
          return service.app
            .inject({ method: sample.method as 'GET', url: sample.path, headers, payload })
            .then((response) => ({ sample, response }));
        }),
      );
      for (const { sample, response } of responses) {
        statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1);
        if (response.statusCode >= 500) {
          throw new Error(`5xx for ${JSON.stringify(sample)}: ${response.body}`);
        }
        if (response.statusCode >= 400 && sample.method !== 'HEAD') {
          expect(response.json().code, JSON.stringify(sample)).toEqual(expect.any(String));
        }
      }
    }
    console.log('statuses:', Object.fromEntries(statuses));
    expect(JSON.stringify(service.ledger.listCredits(buyer.id))).toBe(before);
    expect(service.ledger.check().differences).toEqual([]);
  });
});
