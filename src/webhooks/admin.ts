import type { Kysely } from 'kysely';
import type { EngineConfig } from '../config/schema.js';
import type { Database } from '../db/schema.js';
import { NotFoundError } from '../errors.js';
import { PAYLOAD_VERSION, TEST_EVENT_TYPE } from './catalogue.js';
import { endpointName, post, type AttemptResult } from './dispatcher.js';

/** One endpoint as `comeback webhooks list`, `stats` and `check` show it. */
export interface EndpointStatus {
  name: string;
  url: string;
  events: string[];
  pending: number;
  delivered: number;
  dead: number;
  failures: number;
  pausedUntil: number | null;
  goneAt: number | null;
  reason: string | null;
}

/** Every configured endpoint with its counts and state. */
export async function endpointStatuses(
  k: Kysely<Database>,
  config: Pick<EngineConfig, 'webhooks'>,
): Promise<EndpointStatus[]> {
  if (config.webhooks.length === 0) return [];
  const counts = await k
    .selectFrom('webhook_deliveries')
    .select(['endpoint', 'status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['endpoint', 'status'])
    .execute();
  const states = new Map((await k.selectFrom('webhook_endpoints').selectAll().execute()).map((s) => [s.endpoint, s]));
  return config.webhooks.map((e) => {
    const name = endpointName(e);
    const n = (status: string) => Number(counts.find((c) => c.endpoint === name && c.status === status)?.n ?? 0);
    const s = states.get(name);
    return {
      name,
      url: e.url,
      events: e.events,
      pending: n('pending'),
      delivered: n('delivered'),
      dead: n('dead'),
      failures: s?.failures ?? 0,
      pausedUntil: s?.paused_until ?? null,
      goneAt: s?.gone_at ?? null,
      reason: s?.reason ?? null,
    };
  });
}

/** One sentence per endpoint that needs an operator (gone, paused, dead letters); for stats, check and the worker. */
export async function webhookNotices(
  k: Kysely<Database>,
  config: Pick<EngineConfig, 'webhooks'>,
  now: number,
): Promise<string[]> {
  const notes: string[] = [];
  for (const s of await endpointStatuses(k, config)) {
    if (s.goneAt)
      notes.push(
        `webhook endpoint ${s.name} is gone (it answered 410); ${s.pending} events wait: comeback webhooks replay --endpoint ${s.name} once it is back`,
      );
    else if (s.pausedUntil && s.pausedUntil > now)
      notes.push(
        `webhook endpoint ${s.name} is paused until ${new Date(s.pausedUntil).toISOString()}: ${s.reason ?? 'failing'}; ${s.pending} events wait`,
      );
    if (s.dead > 0)
      notes.push(
        `${s.dead} webhook event${s.dead === 1 ? '' : 's'} for ${s.name} failed for good: comeback webhooks list --dead, comeback webhooks replay`,
      );
  }
  return notes;
}

/** A dead letter as `comeback webhooks list --dead` shows it. */
export interface DeadLetter {
  id: number;
  eventId: number;
  endpoint: string;
  type: string;
  attempts: number;
  lastError: string | null;
  updatedAt: number;
}

/** The dead-letter list, oldest first (at most `limit`). */
export async function deadLetters(k: Kysely<Database>, limit = 100): Promise<DeadLetter[]> {
  const rows = await k
    .selectFrom('webhook_deliveries')
    .select(['id', 'event_id', 'endpoint', 'type', 'attempts', 'last_error', 'updated_at'])
    .where('status', '=', 'dead')
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    id: r.id,
    eventId: r.event_id,
    endpoint: r.endpoint,
    type: r.type,
    attempts: r.attempts,
    lastError: r.last_error,
    updatedAt: r.updated_at,
  }));
}

/**
 * Sends dead letters again (all, one endpoint's, or the given delivery ids) as new tries with a
 * fresh retry period, and lifts a pause or a 410 of the endpoints concerned. Returns how many.
 */
export async function replay(
  k: Kysely<Database>,
  now: number,
  options: { endpoint?: string; ids?: number[] } = {},
): Promise<number> {
  let q = k
    .updateTable('webhook_deliveries')
    .set({
      status: 'pending',
      attempts: 0,
      first_attempt_at: null,
      next_attempt_at: now,
      lease_until: null,
      updated_at: now,
    })
    .where('status', '=', 'dead');
  if (options.endpoint) q = q.where('endpoint', '=', options.endpoint);
  if (options.ids?.length) q = q.where('id', 'in', options.ids);
  const r = await q.executeTakeFirst();
  let states = k
    .updateTable('webhook_endpoints')
    .set({ failures: 0, paused_until: null, gone_at: null, reason: null, updated_at: now });
  if (options.endpoint) states = states.where('endpoint', '=', options.endpoint);
  await states.execute();
  return Number(r.numUpdatedRows);
}

/** Sends a `webhook.test` event to an endpoint now (outside the outbox) and says how it went. */
export async function sendTest(
  config: Pick<EngineConfig, 'webhooks' | 'webhookDelivery'>,
  name: string,
  now: number,
): Promise<AttemptResult & { id: string }> {
  const e = config.webhooks.find((w) => endpointName(w) === name);
  if (!e) throw new NotFoundError('webhook endpoint', name);
  const id = `test_${now.toString(36)}`;
  const body = JSON.stringify({
    type: TEST_EVENT_TYPE,
    version: PAYLOAD_VERSION,
    id,
    timestamp: new Date(now).toISOString(),
    data: { message: 'a test event from comeback webhooks test' },
  });
  return { id, ...(await post(e, id, body, config.webhookDelivery.timeoutMs)) };
}

/** Deletes a person's events from the outbox and from every delivery list (erasure). Returns how many rows. */
export async function forgetWebhookEvents(k: Kysely<Database>, customerId: number): Promise<number> {
  const a = await k.deleteFrom('webhook_outbox').where('customer_id', '=', customerId).executeTakeFirst();
  const b = await k.deleteFrom('webhook_deliveries').where('customer_id', '=', customerId).executeTakeFirst();
  return Number(a.numDeletedRows) + Number(b.numDeletedRows);
}
