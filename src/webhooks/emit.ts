import type { Kysely } from 'kysely';
import type { EngineConfig, WebhookEndpoint } from '../config/schema.js';
import type { Database } from '../db/schema.js';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './catalogue.js';

/** One event for the outbox: what happened to whom; the dispatcher adds the ids a receiver needs. */
export interface WebhookEventInput {
  type: WebhookEventType;
  customerId?: number | null;
  enrollmentId?: number | null;
  messageId?: number | null;
  sequenceId?: string | null;
  /** The row the event is about (an `events` row, a conversion). */
  refId?: number | null;
  /** Small event-specific fields (ids, numbers, short texts). */
  data?: Record<string, unknown>;
  occurredAt: number;
}

/** The event types an endpoint receives. */
export function endpointTypes(e: WebhookEndpoint): Set<string> {
  return new Set(e.events.includes('*') ? WEBHOOK_EVENT_TYPES : e.events);
}

const subscribed = new WeakMap<object, ReadonlySet<string>>();

/** The event types at least one configured endpoint receives: only those are written to the outbox. */
export function webhookTypes(config: Pick<EngineConfig, 'webhooks'>): ReadonlySet<string> {
  let types = subscribed.get(config.webhooks);
  if (!types) subscribed.set(config.webhooks, (types = new Set(config.webhooks.flatMap((e) => [...endpointTypes(e)]))));
  return types;
}

/** Rows per INSERT: 9 columns stay far below SQLite's parameter limit. */
const SLICE = 500;

/**
 * Writes events to the webhook outbox. Call it with the transaction of the state change the
 * events report, so both commit or neither does. Types no endpoint receives are not written.
 */
export async function emitEvents(
  k: Kysely<Database>,
  config: Pick<EngineConfig, 'webhooks'>,
  events: WebhookEventInput[],
): Promise<void> {
  const types = webhookTypes(config);
  if (types.size === 0) return;
  const rows = events
    .filter((e) => types.has(e.type))
    .map((e) => ({
      type: e.type,
      customer_id: e.customerId ?? null,
      enrollment_id: e.enrollmentId ?? null,
      message_id: e.messageId ?? null,
      sequence_id: e.sequenceId ?? null,
      ref_id: e.refId ?? null,
      data: JSON.stringify(e.data ?? {}),
      occurred_at: e.occurredAt,
    }));
  for (let i = 0; i < rows.length; i += SLICE)
    await k
      .insertInto('webhook_outbox')
      .values(rows.slice(i, i + SLICE))
      .execute();
}

/** One event; see `emitEvents`. */
export function emitEvent(
  k: Kysely<Database>,
  config: Pick<EngineConfig, 'webhooks'>,
  event: WebhookEventInput,
): Promise<void> {
  return emitEvents(k, config, [event]);
}

/**
 * Runs a state change and the events it reports in one transaction. Without any endpoint there is
 * nothing to report, and the change runs as it is (no transaction of its own).
 */
export function withOutbox<T>(
  k: Kysely<Database>,
  config: Pick<EngineConfig, 'webhooks'>,
  change: (k: Kysely<Database>) => Promise<T>,
): Promise<T> {
  return webhookTypes(config).size === 0 || k.isTransaction ? change(k) : k.transaction().execute(change);
}
