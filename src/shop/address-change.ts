import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** What following the address changes of some customers did to their active enrolments. */
export interface AddressFollowResult {
  /** Enrolments that now hold the customer's new address (or none, when the address was removed). */
  moved: number;
  /** Enrolments ended (`exit_reason` `same_address`): another record's enrolment in that sequence mails the new address already. */
  ended: number;
}

/**
 * An active enrolment holds the address it mails, one per address and sequence (migration 008),
 * so that a person with two customer records gets each sequence once. When a customer's address
 * changes, their active enrolments move to the new address, freeing the old one. Where another
 * record's active enrolment in the same sequence mails the new address already, this one ends
 * with `exit_reason` `same_address` (its reserved mails are cancelled at send time): the person
 * gets the sequence once, from the enrolment that had it first.
 */
export async function followAddressChanges(
  db: Kysely<Database>,
  customerIds: number[],
  now: number,
): Promise<AddressFollowResult> {
  const result: AddressFollowResult = { moved: 0, ended: 0 };
  if (customerIds.length === 0) return result;
  const changed = await db
    .selectFrom('enrollments as e')
    .innerJoin('customers as c', 'c.id', 'e.customer_id')
    .select(['e.id', 'e.sequence_id', 'c.email_hash'])
    .where('e.customer_id', 'in', customerIds)
    .where('e.status', '=', 'active')
    .where(sql<boolean>`coalesce(e.address_hash, '') <> coalesce(c.email_hash, '')`)
    .orderBy('e.id')
    .execute();
  for (const e of changed) {
    const holder = e.email_hash
      ? await db
          .selectFrom('enrollments')
          .select('id')
          .where('sequence_id', '=', e.sequence_id)
          .where('status', '=', 'active')
          .where('address_hash', '=', e.email_hash)
          .where('id', '<>', e.id)
          .executeTakeFirst()
      : undefined;
    if (holder) {
      await db
        .updateTable('enrollments')
        .set({ status: 'exited', ended_at: now, next_due_at: null, exit_reason: 'same_address' })
        .where('id', '=', e.id)
        .execute();
      result.ended++;
    } else {
      await db.updateTable('enrollments').set({ address_hash: e.email_hash }).where('id', '=', e.id).execute();
      result.moved++;
    }
  }
  return result;
}
