/**
 * Webhook delivery against a real local HTTP receiver: signed, at least once with stable event ids, retried
 * with backoff after failures, and dead after the last attempt.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyWebhookSignature, WebhookDispatcher } from '../../src/webhooks/index.js';
import { type ServiceFixture, serviceFixture } from '../support/service-fixture.js';

const secret = 'a-webhook-secret-of-some-length';
let service: ServiceFixture;
let receiver: Server;
let url: string;
/** What the receiver answers next, per call: a status, or 'hang' to time out. */
let script: (number | 'hang')[] = [];
const received: { headers: IncomingMessage['headers']; body: string }[] = [];

beforeAll(async () => {
  service = await serviceFixture();
  receiver = createServer(async (request, response) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    received.push({ headers: request.headers, body: Buffer.concat(chunks).toString() });
    const next = script.shift() ?? 200;
    if (next === 'hang') return; // never answers
    response.writeHead(next).end();
  });
  receiver.listen(0, '127.0.0.1');
  await once(receiver, 'listening');
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  receiver.close();
  await service.close();
});

const subscribe = async (headers: Record<string, string>, events?: string[]) => {
  const response = await service.app.inject({
    method: 'POST',
    url: '/v2/webhooks',
    headers,
    payload: { url, secret, ...(events ? { events } : {}) },
  });
  expect(response.statusCode).toBe(201);
  return response.json() as { id: string };
};

describe('webhooks', () => {
  it('registers, lists and deletes subscriptions per account, refusing a bad URL or a short secret', async () => {
    const buyer = await service.account('free', 0);
    const other = await service.account('free', 0);
    const { id } = await subscribe(buyer.headers);
    const list = await service.app.inject({ method: 'GET', url: '/v2/webhooks', headers: buyer.headers });
    expect(list.json().data.map((s: { id: string }) => s.id)).toEqual([id]);
    expect(JSON.stringify(list.json())).not.toContain(secret);
    const bad = await service.app.inject({
      method: 'POST',
      url: '/v2/webhooks',
      headers: buyer.headers,
      payload: { url: 'ftp://x', secret: 'short' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().errors.map((e: { field: string }) => e.field)).toContain('secret');
    const foreign = await service.app.inject({
      method: 'DELETE',
      url: `/v2/webhooks/${id}`,
      headers: other.headers,
    });
    expect(foreign.statusCode).toBe(404);
    const deleted = await service.app.inject({
      method: 'DELETE',
      url: `/v2/webhooks/${id}`,
      headers: buyer.headers,
    });
    expect(deleted.statusCode).toBe(204);
  });

  it('delivers each ledger event once, signed with HMAC-SHA256, with a stable event id', async () => {
    const buyer = await service.account('free', 0);
    await subscribe(buyer.headers, ['credits.granted']);
    const dispatcher = new WebhookDispatcher(service.webhooks, service.ledger, { backoffBaseMs: 1 });
    await dispatcher.runOnce(); // catch up on events of other tests' accounts
    received.length = 0;
    const record = await service.ledger.grantCredits({ accountId: buyer.id, amount: 3 });
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    expect(await dispatcher.runOnce()).toMatchObject({ fannedOut: 0, delivered: 0 });
    const [delivery] = received;
    expect(received).toHaveLength(1);
    const body = JSON.parse(delivery?.body ?? '{}');
    expect(body).toMatchObject({
      id: `evt_granted_${record.id}`,
      type: 'credits.granted',
      account_id: buyer.id,
    });
    expect(delivery?.headers['x-certmatch-event-id']).toBe(body.id);
    const signature = delivery?.headers['x-certmatch-signature'] as string;
    expect(verifyWebhookSignature(secret, signature, delivery?.body ?? '')).toBe(true);
    expect(verifyWebhookSignature('another-secret-entirely', signature, delivery?.body ?? '')).toBe(false);
    expect(verifyWebhookSignature(secret, signature, `${delivery?.body} `)).toBe(false);
  });

  it('retries a failing receiver with backoff and delivers the same event id when it recovers', async () => {
    const buyer = await service.account('free', 0);
    const { id } = await subscribe(buyer.headers, ['credits.granted']);
    let clock = Date.now();
    const dispatcher = new WebhookDispatcher(service.webhooks, service.ledger, {
      backoffBaseMs: 60_000,
      jitter: 0,
      now: () => clock,
    });
    await dispatcher.runOnce();
    received.length = 0;
    script = [500, 503];
    await service.ledger.grantCredits({ accountId: buyer.id, amount: 1 });
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, failed: 0 }); // not due before its backoff
    const deliveries = async () =>
      (
        await service.app.inject({
          method: 'GET',
          url: `/v2/webhooks/${id}/deliveries`,
          headers: buyer.headers,
        })
      ).json().data[0];
    expect(await deliveries()).toMatchObject({ status: 'pending', attempts: 1, lastError: 'HTTP 500' });
    expect(Date.parse((await deliveries()).nextAttemptAt) - clock).toBe(60_000);
    clock += 60_000;
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 0, failed: 1 });
    expect(Date.parse((await deliveries()).nextAttemptAt) - clock).toBe(120_000); // doubled
    clock += 120_000;
    expect(await dispatcher.runOnce()).toMatchObject({ delivered: 1, failed: 0 });
    expect(await deliveries()).toMatchObject({ status: 'delivered', attempts: 3, lastError: null });
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.headers['x-certmatch-event-id'])).size).toBe(1);
  });

  it('marks a delivery dead after the last attempt, including a receiver that never answers', async () => {
    const buyer = await service.account('free', 0);
    const { id } = await subscribe(buyer.headers, ['credits.granted']);
    const dispatcher = new WebhookDispatcher(service.webhooks, service.ledger, {
      maxAttempts: 3,
      backoffBaseMs: 0,
      timeoutMs: 200,
    });
    await dispatcher.runOnce();
    received.length = 0;
    script = [500, 'hang', 404];
    await service.ledger.grantCredits({ accountId: buyer.id, amount: 1 });
    await dispatcher.runOnce();
    expect(received.map((r) => r.headers['x-certmatch-delivery-attempt'])).toEqual(['1', '2', '3']);
    const deliveries = await service.app.inject({
      method: 'GET',
      url: `/v2/webhooks/${id}/deliveries`,
      headers: buyer.headers,
    });
    expect(deliveries.json().data[0]).toMatchObject({ status: 'dead', attempts: 3, lastError: 'HTTP 404' });
    expect(new Set(received.map((r) => r.headers['x-certmatch-event-id'])).size).toBe(1);
  });
});
