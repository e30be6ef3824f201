/**
 * The event catalogue of outbound webhooks (docs/WEBHOOKS.md). Names are stable; a payload's
 * `version` changes only when a field changes meaning or goes away (new fields may appear).
 */
export const WEBHOOK_EVENT_TYPES = [
  'enrollment.created',
  'message.sent',
  'message.opened',
  'message.clicked',
  'conversion.created',
  'customer.unsubscribed',
  'message.bounced',
  'message.complained',
  'sequence.paused',
] as const;

/** One event type of the catalogue. */
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** The type `comeback webhooks test` sends; never produced by a state change. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The payload format version, in every body as `version`. */
export const PAYLOAD_VERSION = 1;

/** Longest body a webhook carries (bytes): every field is an id, a number or a short text. */
export const MAX_BODY_BYTES = 8192;

/** Longest text field (a pause reason, an external id) in characters; longer ones are cut. */
export const MAX_TEXT_CHARS = 500;

/** Tracking event types (`events.type`) reported when a human did them, and their webhook type. */
export const TRACKING_TYPES: Record<string, WebhookEventType> = { open: 'message.opened', click: 'message.clicked' };
