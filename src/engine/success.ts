import { NotFoundError } from '../errors.js';
import { findCustomer } from '../shop/customers.js';
import type { EngineContext } from './context.js';
import { trigger } from './enroll.js';

/**
 * A goal reached: tags the customer and starts the sequence's `on_success` sequence. A purchase
 * tags `returning` unless the sequence names another tag; a goal without a purchase (a survey
 * answer) tags only when it names one.
 */
export async function applySuccess(
  ctx: EngineContext,
  c: { enrollmentId: number; sequenceId: string },
  defaultTag: string | null = 'returning',
): Promise<void> {
  const e = await ctx.k
    .selectFrom('enrollments')
    .select(['customer_id', 'sequence_version'])
    .where('id', '=', c.enrollmentId)
    .executeTakeFirstOrThrow();
  const seq = await ctx.sequences.version(c.sequenceId, e.sequence_version);
  const customer = await findCustomer(ctx.k, e.customer_id);
  if (!customer) throw new NotFoundError('customer', String(e.customer_id));
  const tag = seq.on_success?.tag ?? defaultTag;
  const tags = new Set<string>(JSON.parse(customer.tags) as string[]);
  if (tag && !tags.has(tag)) {
    tags.add(tag);
    await ctx.k
      .updateTable('customers')
      .set({ tags: JSON.stringify([...tags]), updated_at: ctx.clock.now() })
      .where('id', '=', customer.id)
      .execute();
  }
  const start = seq.on_success?.start;
  if (start && ctx.sequences.ids().includes(start)) await trigger(ctx, start, customer.id, { after: c.sequenceId });
}
