import type { Kysely, Selectable } from 'kysely';
import type { Database, WebhookOutboxTable } from '../db/schema.js';
import { MAX_BODY_BYTES, MAX_TEXT_CHARS, PAYLOAD_VERSION } from './catalogue.js';

type OutboxRow = Selectable<WebhookOutboxTable>;

/** A composed event: the body every endpoint gets, signed per endpoint. */
export interface ComposedEvent {
  id: number;
  type: string;
  customerId: number | null;
  body: string;
}

/** The `webhook-id` of an outbox event: the same for every endpoint and every retry. */
export function webhookId(eventId: number): string {
  return `evt_${eventId}`;
}

/** Cuts every text to `MAX_TEXT_CHARS`, so no body grows past `MAX_BODY_BYTES`. */
function bounded(data: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(data)) out[k] = typeof v === 'string' ? v.slice(0, MAX_TEXT_CHARS) : v;
  return out;
}

const byId = <T extends { id: number }>(rows: T[]) => new Map(rows.map((r) => [r.id, r]));

/**
 * Turns outbox rows into bodies (docs/WEBHOOKS.md): the ids a receiver needs to deduplicate and
 * look things up (customer external id, sequence and version, step, variant, message). An open or
 * click found meanwhile to be a machine's (a scanner burst) is dropped: it is not a human's.
 */
export async function composeEvents(k: Kysely<Database>, rows: OutboxRow[]): Promise<ComposedEvent[]> {
  const ids = (pick: (r: OutboxRow) => number | null) => [
    ...new Set(rows.map(pick).filter((v): v is number => v !== null)),
  ];
  const customerIds = ids((r) => r.customer_id);
  const enrollmentIds = ids((r) => r.enrollment_id);
  const messageIds = ids((r) => r.message_id);
  const eventIds = ids((r) => (r.type === 'message.opened' || r.type === 'message.clicked' ? r.ref_id : null));
  const customers = byId(
    customerIds.length
      ? await k.selectFrom('customers').select(['id', 'external_id']).where('id', 'in', customerIds).execute()
      : [],
  );
  const enrollments = byId(
    enrollmentIds.length
      ? await k
          .selectFrom('enrollments')
          .select(['id', 'sequence_id', 'sequence_version', 'holdout'])
          .where('id', 'in', enrollmentIds)
          .execute()
      : [],
  );
  const messages = byId(
    messageIds.length
      ? await k
          .selectFrom('messages')
          .select(['id', 'step_id', 'variant_id', 'sequence_id', 'enrollment_id'])
          .where('id', 'in', messageIds)
          .execute()
      : [],
  );
  const machine = new Set(
    eventIds.length
      ? (await k.selectFrom('events').select('id').where('id', 'in', eventIds).where('machine', '=', 1).execute()).map(
          (r) => r.id,
        )
      : [],
  );
  const out: ComposedEvent[] = [];
  for (const r of rows) {
    if (r.ref_id !== null && machine.has(r.ref_id) && (r.type === 'message.opened' || r.type === 'message.clicked'))
      continue;
    const m = r.message_id !== null ? messages.get(r.message_id) : undefined;
    const e = enrollments.get(r.enrollment_id ?? m?.enrollment_id ?? -1);
    const c = r.customer_id !== null ? customers.get(r.customer_id) : undefined;
    const data: Record<string, unknown> = {};
    if (c) data.customer = { id: c.id, external_id: c.external_id.slice(0, MAX_TEXT_CHARS) };
    const sequenceId = r.sequence_id ?? e?.sequence_id ?? m?.sequence_id ?? null;
    if (sequenceId !== null) data.sequence = { id: sequenceId, version: e?.sequence_version ?? null };
    if (e) data.enrollment = { id: e.id, holdout: e.holdout === 1 };
    if (m) data.message = { id: m.id, step: m.step_id, variant: m.variant_id };
    Object.assign(data, bounded(JSON.parse(r.data) as Record<string, unknown>));
    const body = JSON.stringify({
      type: r.type,
      version: PAYLOAD_VERSION,
      id: webhookId(r.id),
      timestamp: new Date(Number(r.occurred_at)).toISOString(),
      data,
    });
    // Never produced: every field is bounded above. A guard, so a future field cannot break it silently.
    if (Buffer.byteLength(body) > MAX_BODY_BYTES)
      throw new Error(
        `webhook event ${r.id} (${r.type}) would be ${Buffer.byteLength(body)} bytes, above ${MAX_BODY_BYTES}`,
      );
    out.push({ id: r.id, type: r.type, customerId: r.customer_id, body });
  }
  return out;
}
