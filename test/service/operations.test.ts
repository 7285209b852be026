/**
 * Operating the service: readiness, the OpenAPI document and /docs, metrics, reconciliation, limits and load
 * shedding, errors that never leak, and a smoke test over a real port.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Catalog } from '../../src/catalog/index.js';
import type { CertifiedEntityRecord } from '../../src/engine/index.js';
import { buildApp, startServer } from '../../src/service/index.js';
import { type ServiceFixture, serviceFixture } from '../support/service-fixture.js';

let service: ServiceFixture;
let company: CertifiedEntityRecord;
beforeAll(async () => {
  service = await serviceFixture();
  company = service.entities[0] as CertifiedEntityRecord;
});
afterAll(() => service.close());

const exactBody = () => ({ company_name: company.certified_entity_name, company_country: company.country });

describe('operating the service', () => {
  it('is live at once and ready only once the index is loaded; verifications answer 503 not_ready until then', async () => {
    let load: (value: typeof service.matcher) => void = () => {};
    const loading = new Promise<typeof service.matcher>((resolve) => {
      load = resolve;
    });
    const app = await buildApp(
      { matcher: loading, catalog: service.catalog, ledger: service.ledger },
      { maxEventLoopDelayMs: 0 },
    );
    const buyer = await service.account('free', 1);
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/readyz' })).statusCode).toBe(503);
    const early = await app.inject({
      method: 'POST',
      url: '/company',
      headers: buyer.headers,
      payload: exactBody(),
    });
    expect(early.statusCode).toBe(503);
    expect(early.json().code).toBe('not_ready');
    expect(early.headers['retry-after']).toBe('5');
    load(service.matcher);
    await loading;
    expect((await app.inject({ url: '/readyz' })).json()).toMatchObject({ status: 'ready', entities: 300 });
    await app.close();
  });

  it('serves an OpenAPI 3 document generated from the route schemas, and an interactive reference at /docs', async () => {
    const document = (await service.app.inject({ url: '/docs/json' })).json();
    expect(document.openapi).toMatch(/^3\./);
    for (const path of ['/company', '/bulk-companies', '/match-companies', '/v2/credits', '/reconcile']) {
      expect(Object.keys(document.paths)).toContain(path);
    }
    expect(document.paths['/company'].post.requestBody.content['application/json'].schema.required).toEqual([
      'company_country',
    ]);
    const page = await service.app.inject({ url: '/docs' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
  });

  it('exposes Prometheus metrics: latency by route, matches by band, credits, ledger queue and pool', async () => {
    const buyer = await service.account('free', 3);
    await service.app.inject({
      method: 'POST',
      url: '/company',
      headers: buyer.headers,
      payload: exactBody(),
    });
    const metrics = (await service.app.inject({ url: '/metrics' })).body;
    expect(metrics).toMatch(
      /certmatch_http_request_duration_seconds_count\{[^}]*route="\/company"[^}]*\} \d+/,
    );
    expect(metrics).toMatch(/certmatch_matches_total\{band="very_high"\} [1-9]/);
    expect(metrics).toMatch(/certmatch_credits_charged_total [1-9]/);
    expect(metrics).toContain('certmatch_ledger_queue_depth 0');
    expect(metrics).toContain('certmatch_scoring_pool_utilization');
  });

  it('reconciles a batch of OpenRefine queries (form or JSON, key in the query string), never charging', async () => {
    const buyer = await service.account('free', 2);
    const key = encodeURIComponent(buyer.headers['x-http-authorization']);
    const manifest = (await service.app.inject({ url: `/reconcile?api_key=${key}` })).json();
    expect(manifest).toMatchObject({ versions: ['0.2'], standardizedScore: true });
    const queries = {
      q0: { query: company.certified_entity_name, properties: [{ pid: 'country', v: company.country }] },
      q1: { query: 'Zyxwv Unheard Of', properties: [{ pid: 'country', v: company.country }], limit: 2 },
      q2: { query: 'no country given' },
    };
    const form = await service.app.inject({
      method: 'POST',
      url: `/reconcile?api_key=${key}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `queries=${encodeURIComponent(JSON.stringify(queries))}`,
    });
    const answer = form.json();
    expect(answer.q0.result[0]).toMatchObject({ id: company.ce_id, score: 100, match: true });
    expect(answer.q0.result[0].features).toContainEqual({ id: 'same_name_after_normalization', value: true });
    expect(answer.q1.result.length).toBeLessThanOrEqual(2);
    expect(answer.q2.result).toEqual([]);
    const json = await service.app.inject({
      method: 'POST',
      url: '/reconcile',
      headers: buyer.headers,
      payload: { queries },
    });
    expect(json.json().q0.result[0].id).toBe(company.ce_id);
    expect(service.ledger.balance(buyer.id)).toBe(2);
    expect((await service.app.inject({ url: '/reconcile' })).statusCode).toBe(401);
  });

  it('rate-limits per key with 429 and Retry-After, and refuses oversized bodies with 413', async () => {
    const app = await buildApp(
      { matcher: service.matcher, catalog: service.catalog, ledger: service.ledger },
      { rateLimitMax: 2, maxEventLoopDelayMs: 0, bodyLimitBytes: 1_000 },
    );
    const buyer = await service.account('free', 5);
    const send = () =>
      app.inject({ method: 'POST', url: '/match-companies', headers: buyer.headers, payload: exactBody() });
    expect((await send()).statusCode).toBe(200);
    expect((await send()).statusCode).toBe(200);
    const limited = await send();
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('too_many_requests');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const other = await service.account('free', 5);
    const huge = await app.inject({
      method: 'POST',
      url: '/company',
      headers: other.headers,
      payload: { ...exactBody(), company_name: 'x'.repeat(2_000) },
    });
    expect(huge.statusCode).toBe(413);
    expect(huge.json().code).toBe('payload_too_large');
    await app.close();
  });

  it('sheds load with 503 overloaded and Retry-After past its in-flight cap instead of queueing', async () => {
    const app = await buildApp(
      { matcher: service.matcher, catalog: service.catalog, ledger: service.ledger },
      { maxInFlight: 2, maxEventLoopDelayMs: 0 },
    );
    const buyer = await service.account('basic', 0);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        app.inject({ method: 'POST', url: '/company', headers: buyer.headers, payload: exactBody() }),
      ),
    );
    const statuses = responses.map((response) => response.statusCode);
    expect(statuses).toContain(503);
    expect(statuses).toContain(200);
    const shed = responses.find((response) => response.statusCode === 503);
    expect(shed?.json().code).toBe('overloaded');
    expect(shed?.headers['retry-after']).toBe('1');
    await app.close();
  });

  it('answers an unexpected failure with a 500 that leaks nothing but the request id', async () => {
    const broken = new Proxy(service.catalog, {
      get(target, property) {
        if (property === 'entityDocument') {
          return () => {
            throw new Error('SQLITE_CORRUPT at /secret/path/catalog.db');
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    }) as Catalog;
    const app = await buildApp(
      { matcher: service.matcher, catalog: broken, ledger: service.ledger },
      { maxEventLoopDelayMs: 0 },
    );
    const buyer = await service.account('free', 5);
    const response = await app.inject({
      method: 'POST',
      url: '/company',
      headers: { ...buyer.headers, 'x-request-id': 'req-123' },
      payload: exactBody(),
    });
    expect(response.statusCode).toBe(500);
    expect(response.json()).toMatchObject({ code: 'internal_error' });
    expect(response.body).not.toContain('SQLITE');
    expect(response.body).not.toContain('/secret');
    expect(response.json().detail).toContain('req-123');
    expect(service.ledger.balance(buyer.id)).toBe(5);
    await app.close();
  });

  it('serves over a real port and shuts down gracefully with every acknowledged charge committed', async () => {
    const ledgerPath = join(service.directory, 'smoke-ledger.db');
    const server = await startServer({
      catalog: service.catalog,
      ledgerPath,
      webhooksPath: join(service.directory, 'smoke-webhooks.db'),
      port: 0,
      threads: 1,
      maxEventLoopDelayMs: 0,
    });
    await server.ready;
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const account = await server.ledger.createAccount({ name: 'Smoke', plan: 'free' });
    const { secret } = await server.ledger.createApiKey({ accountId: account.id });
    await server.ledger.grantCredits({ accountId: account.id, amount: 10 });
    const response = await fetch(`${server.url}/company`, {
      method: 'POST',
      headers: { 'x-http-authorization': secret, 'content-type': 'application/json' },
      body: JSON.stringify(exactBody()),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-credits-charged')).toBe('1');
    expect(((await response.json()) as { ce_id: string }).ce_id).toBe(company.ce_id);
    const bad = await fetch(`${server.url}/company`, {
      method: 'POST',
      headers: { 'x-http-authorization': secret, 'content-type': 'application/json' },
      body: '{"company_name": ',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { code: string }).code).toBe('validation_error');
    await server.close();
    const { SqliteLedger } = await import('../../src/ledger/index.js');
    const reopened = new SqliteLedger(ledgerPath);
    expect(reopened.balance(account.id)).toBe(9);
    await reopened.close();
  });
});
