/**
 * The history the planner's rules read from the database, shared by the scheduler and
 * `comeback simulate`: recent mails per address (frequency cap) and human opens per customer
 * (preferred hour).
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** A customer record as the frequency cap sees it. */
export type AddressOf = { id: number; email_hash: string | null };

/** What a frequency cap counts by: the address, so a person's duplicate records (guest order and account) share one cap. */
export function capKey(c: AddressOf): string {
  return c.email_hash ?? `customer:${c.id}`;
}

/** When mails were reserved since `since` for these customers' addresses (all records of each), across all sequences. */
export async function recentMailTimes(
  trx: Kysely<Database>,
  customers: AddressOf[],
  since: number,
): Promise<Map<string, number[]>> {
  const keyOf = new Map(customers.map((c) => [c.id, capKey(c)]));
  const hashes = [...new Set(customers.flatMap((c) => (c.email_hash ? [c.email_hash] : [])))];
  if (hashes.length > 0) {
    for (const r of await trx
      .selectFrom('customers')
      .select(['id', 'email_hash'])
      .where('email_hash', 'in', hashes)
      .execute())
      keyOf.set(r.id, capKey(r));
  }
  const rows = await trx
    .selectFrom('messages')
    .select(['customer_id', 'reserved_at'])
    .where('customer_id', 'in', [...keyOf.keys()])
    .where('reserved_at', '>', since)
    .where('status', 'in', ['reserved', 'sending', 'sent', 'uncertain'])
    .execute();
  const times = new Map<string, number[]>();
  for (const r of rows) {
    const key = keyOf.get(r.customer_id)!;
    times.set(key, [...(times.get(key) ?? []), r.reserved_at]);
  }
  return times;
}

/** Times of human (not machine) opens per customer in the last 180 days, when preferred hours are on (`minOpens` > 0). */
export async function humanOpenTimes(
  trx: Kysely<Database>,
  customerIds: number[],
  now: number,
  minOpens: number,
): Promise<Map<number, number[]>> {
  const out = new Map<number, number[]>();
  if (minOpens <= 0 || customerIds.length === 0) return out;
  // Through the customer's messages (both joins indexed), not a scan of the events table.
  const rows = await trx
    .selectFrom('messages')
    .innerJoin('events', 'events.message_id', 'messages.id')
    .select(['messages.customer_id', 'events.occurred_at'])
    .where('messages.customer_id', 'in', customerIds)
    .where('events.type', '=', 'open')
    .where('events.machine', '=', 0)
    .where('events.occurred_at', '>', now - 180 * 86_400_000)
    .execute();
  for (const r of rows) out.set(r.customer_id, [...(out.get(r.customer_id) ?? []), r.occurred_at]);
  return out;
}
