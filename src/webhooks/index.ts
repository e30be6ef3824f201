/** Outbound webhooks: the outbox, the dispatcher and the tools around them (docs/WEBHOOKS.md). */
export * from './catalogue.js';
export { emitEvent, emitEvents, webhookTypes, type WebhookEventInput } from './emit.js';
export { WebhookDispatcher, endpointName, type WebhookDeps } from './dispatcher.js';
export { checkWebhookUrls } from './urls.js';
export { signatureHeader, signedHeaders, verifySignature, secretKey, newSecret } from './sign.js';
export * from './admin.js';
