/**
 * Webhooks: subscriptions per account, and at-least-once, signed delivery of the ledger's outbox events.
 *
 * @example
 * ```ts
 * const store = new WebhookStore('webhooks.db');
 * store.createSubscription({ accountId, url: 'https://example.com/hook', secret: 's3cret', events: [] });
 * const dispatcher = new WebhookDispatcher(store, ledger);
 * dispatcher.start(); // ... await dispatcher.stop();
 * ```
 */
export {
  signatureHeader,
  signWebhook,
  verifyWebhookSignature,
  WebhookDispatcher,
  type WebhookDispatcherOptions,
} from './dispatcher.js';
export {
  type DeliveryStatus,
  deliveryBody,
  type WebhookDelivery,
  WebhookStore,
  type WebhookSubscription,
  webhookEventTypes,
} from './store.js';
