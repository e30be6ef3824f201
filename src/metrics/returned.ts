/** Recently returned customers: the newest conversions of mailed enrolments. */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { num, type QueryFilter } from './queries.js';
import type { ReturnedCustomer } from './types.js';

/** The `limit` newest conversions of mailed enrolments of customers not erased (newest first). */
export async function recentlyReturned(
  k: Kysely<Database>,
  f: QueryFilter,
  limit: number,
): Promise<ReturnedCustomer[]> {
  let q = k
    .selectFrom('conversions as c')
    .innerJoin('enrollments as en', 'en.id', 'c.enrollment_id')
    .innerJoin('customers as cu', 'cu.id', 'c.customer_id')
    .select([
      'c.customer_id',
      'cu.external_id',
      'cu.first_name',
      'c.sequence_id',
      'c.step_id',
      'c.variant_id',
      'c.attributed_by',
      'c.converted_at',
      'c.revenue_minor',
      'c.discount_minor',
      'c.currency',
    ])
    .where('c.holdout', '=', 0)
    .where('cu.erased_at', 'is', null); // erased people are not listed, though their conversions still count
  if (f.sequence !== undefined) q = q.where('c.sequence_id', '=', f.sequence);
  if (f.since !== undefined) q = q.where('en.enrolled_at', '>=', f.since);
  const rows = await q.orderBy('c.converted_at', 'desc').orderBy('c.id', 'desc').limit(limit).execute();
  return rows.map((r) => ({
    customerId: num(r.customer_id),
    externalId: r.external_id,
    firstName: r.first_name,
    sequenceId: r.sequence_id,
    stepId: r.step_id,
    variantId: r.variant_id,
    attributedBy: r.attributed_by,
    convertedAt: new Date(num(r.converted_at)).toISOString(),
    revenueMinor: num(r.revenue_minor),
    discountMinor: num(r.discount_minor),
    netRevenueMinor: num(r.revenue_minor) - num(r.discount_minor),
    currency: r.currency,
  }));
}
