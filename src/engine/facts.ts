import type { Kysely } from 'kysely';
import type { Database, Enrollment } from '../db/schema.js';
import { NO_FACTS, type Facts } from '../sequences/machine.js';
import { customerValues } from './audience.js';

/**
 * Facts for a batch of enrolments in three queries: human engagement with the enrolment's
 * messages (machine opens and bot clicks never count), purchases since enrolment, and the
 * customer's churn reason and opt-out state.
 */
export async function factsFor(
  db: Kysely<Database>,
  enrollments: Pick<Enrollment, 'id' | 'customer_id' | 'enrolled_at'>[],
  now = Date.now(),
): Promise<Map<number, Facts>> {
  const facts = new Map<number, Facts>(enrollments.map((e) => [e.id, { ...NO_FACTS }]));
  if (enrollments.length === 0) return facts;
  const ids = enrollments.map((e) => e.id);
  const events = await db
    .selectFrom('events')
    .select(['enrollment_id', 'type'])
    .distinct()
    .where('enrollment_id', 'in', ids)
    .where('machine', '=', 0)
    .execute();
  for (const e of events) {
    const f = facts.get(e.enrollment_id!);
    if (!f) continue;
    if (e.type === 'open') f.opened = true;
    else if (e.type === 'click') {
      f.clicked = true;
      f.opened = true; // a human click implies the mail was read
    } else if (e.type === 'reason') f.surveyAnswered = true;
    else if (e.type === 'unsubscribe') f.unsubscribed = true;
    else if (e.type === 'complaint') f.complained = true;
    else if (e.type === 'bounce') f.hardBounced = true;
  }
  const conversions = await db
    .selectFrom('conversions')
    .select('enrollment_id')
    .where('enrollment_id', 'in', ids)
    .execute();
  for (const c of conversions) facts.get(c.enrollment_id)!.purchased = true;
  const customers = await db
    .selectFrom('customers')
    .select(['id', 'churn_reason'])
    .where('id', 'in', [...new Set(enrollments.map((e) => e.customer_id))])
    .execute();
  const reason = new Map(customers.map((c) => [c.id, c.churn_reason]));
  for (const e of enrollments) facts.get(e.id)!.churnReason = reason.get(e.customer_id) ?? null;
  // The documented customer fields, for conditions and branches over facts (`only_if: total_spent > 200`).
  const values = await customerValues(db, [...reason.keys()], now);
  for (const e of enrollments) facts.get(e.id)!.customer = values.get(e.customer_id)?.values;
  return facts;
}
