/**
 * Webhook subscriptions of the caller's account: register a URL and a secret, list, delete, and see the
 * deliveries (including dead ones).
 */
import type { FastifyInstance } from 'fastify';
import type { LedgerEventType } from '../ledger/index.js';
import { webhookEventTypes } from '../webhooks/index.js';
import { type ServiceContext, staffOf } from './context.js';
import { notFound, validationProblem } from './problems.js';
import { problemSchema as problem } from './schemas.js';

const errorResponses = { 400: problem, 401: problem, 404: problem };

export function registerWebhookRoutes(app: FastifyInstance, context: ServiceContext): void {
  const store = () => {
    const webhooks = context.deps.webhooks;
    if (!webhooks) throw notFound('Webhooks are not enabled on this service.');
    return webhooks.store;
  };
  const subscriptionSchema = {
    type: 'object',
    properties: {
      id: { type: 'string' },
      url: { type: 'string' },
      events: { type: 'array', items: { type: 'string' } },
      createdAt: { type: 'string' },
    },
  } as const;

  app.post(
    '/v2/webhooks',
    {
      config: { access: 'staff' },
      schema: {
        summary: 'Subscribe a URL to ledger events',
        description:
          'Deliveries are POSTs signed with HMAC-SHA256 of "<t>.<body>" (header x-certmatch-signature: t=...,v1=...), retried with backoff, at least once; receivers deduplicate on the event id.',
        tags: ['webhooks'],
        body: {
          type: 'object',
          properties: {
            url: { type: 'string', minLength: 1, maxLength: 2000 },
            secret: { type: 'string', minLength: 16, maxLength: 200 },
            events: {
              type: 'array',
              items: { type: 'string', enum: [...webhookEventTypes] },
              uniqueItems: true,
            },
          },
          required: ['url', 'secret'],
          additionalProperties: false,
        },
        response: { 201: subscriptionSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body as { url: string; secret: string; events?: LedgerEventType[] };
      let url: URL;
      try {
        url = new URL(body.url);
      } catch {
        throw validationProblem([{ field: 'url', message: 'must be an absolute http or https URL' }]);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw validationProblem([{ field: 'url', message: 'must be an absolute http or https URL' }]);
      }
      const subscription = store().createSubscription({
        accountId: staffOf(request).accountId,
        url: url.href,
        secret: body.secret,
        events: body.events ?? [],
      });
      return reply.code(201).send(subscription);
    },
  );

  app.get(
    '/v2/webhooks',
    {
      config: { access: 'staff' },
      schema: {
        summary: "The account's webhook subscriptions",
        tags: ['webhooks'],
        response: {
          200: { type: 'object', properties: { data: { type: 'array', items: subscriptionSchema } } },
        },
      },
    },
    async (request) => ({ data: store().subscriptions(staffOf(request).accountId) }),
  );

  app.delete(
    '/v2/webhooks/:id',
    {
      config: { access: 'staff' },
      schema: {
        summary: 'Delete a webhook subscription (its pending deliveries are dropped)',
        tags: ['webhooks'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { ...errorResponses },
      },
    },
    async (request, reply) => {
      const { id } = request.params as { id: string };
      if (!store().deleteSubscription(staffOf(request).accountId, id)) throw notFound('Webhook not found');
      return reply.code(204).send();
    },
  );

  app.get(
    '/v2/webhooks/:id/deliveries',
    {
      config: { access: 'staff' },
      schema: {
        summary: "A subscription's latest deliveries: pending, delivered or dead",
        tags: ['webhooks'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        response: { ...errorResponses },
      },
    },
    async (request) => {
      const { id } = request.params as { id: string };
      const deliveries = store().deliveries(staffOf(request).accountId, id);
      if (!deliveries) throw notFound('Webhook not found');
      return { data: deliveries };
    },
  );
}
