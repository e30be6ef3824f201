import { DAY } from '../clock.js';
import { parseDuration } from '../sequences/duration.js';
import { emitEvent, withOutbox, type WebhookEventInput } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';

/** A conversion that an order produced. */
export interface Attribution {
  enrollmentId: number;
  sequenceId: string;
  holdout: boolean;
  attributedBy: string;
}

/**
 * Attributes an order to the customer's enrolments whose goal it meets: bought within the goal
 * window after enrolment, at least `min_amount_ratio` of the former average basket. A personal
 * coupon of the enrolment attributes directly. Holdout enrolments convert the same way: they
 * are the baseline. The enrolment ends as `converted`; the last human-clicked message (before
 * the order) names the step and variant credited, else the mail whose coupon was redeemed.
 */
export async function attributeOrder(ctx: EngineContext, orderId: number): Promise<Attribution[]> {
  const order = await ctx.k.selectFrom('orders').selectAll().where('id', '=', orderId).executeTakeFirstOrThrow();
  if (order.status === 'cancelled') return [];
  const enrollments = await ctx.k
    .selectFrom('enrollments')
    .selectAll()
    .where('customer_id', '=', order.customer_id)
    .where('status', 'in', ['active', 'completed'])
    .where('enrolled_at', '<=', order.ordered_at)
    .execute();
  const results: Attribution[] = [];
  for (const e of enrollments) {
    const seq = await ctx.sequences.version(e.sequence_id, e.sequence_version);
    const goal = seq.goal?.purchase;
    const window = goal ? parseDuration(goal.within) : 30 * DAY;
    const coupon = order.coupon_code
      ? await ctx.k.selectFrom('coupons').select(['id', 'message_id']).where('code', '=', order.coupon_code).where('enrollment_id', '=', e.id).executeTakeFirst()
      : undefined;
    let by: string | undefined = coupon ? 'coupon' : undefined;
    if (!by && order.ordered_at <= e.enrolled_at + window) {
      by = 'goal_window';
      if (goal?.min_amount_ratio) {
        const before = await ctx.k
          .selectFrom('orders')
          .select((eb) => [eb.fn.avg<number>('total_minor').as('avg')])
          .where('customer_id', '=', order.customer_id)
          .where('ordered_at', '<', e.enrolled_at)
          .where('status', '!=', 'cancelled')
          .executeTakeFirst();
        const avg = Number(before?.avg ?? 0);
        if (avg > 0 && order.total_minor < goal.min_amount_ratio * avg) by = undefined;
      }
      if (by && goal?.new_category && !(await inNewCategory(ctx, order.id, order.customer_id, e.enrolled_at))) by = undefined;
    }
    if (!by) continue;
    if (coupon) await ctx.k.updateTable('coupons').set({ redeemed_order_id: order.id }).where('id', '=', coupon.id).execute();
    // Credit: the last human click before the order; without one, the mail whose coupon was redeemed.
    const clicked = await ctx.k
      .selectFrom('events')
      .innerJoin('messages', 'messages.id', 'events.message_id')
      .select(['messages.step_id', 'messages.variant_id'])
      .where('events.enrollment_id', '=', e.id)
      .where('events.type', '=', 'click')
      .where('events.machine', '=', 0)
      .where('events.occurred_at', '<=', order.ordered_at)
      .orderBy('events.occurred_at', 'desc')
      .executeTakeFirst();
    const credited =
      clicked ?? (coupon?.message_id ? await ctx.k.selectFrom('messages').select(['step_id', 'variant_id']).where('id', '=', coupon.message_id).executeTakeFirst() : undefined);
    const inserted = await withOutbox(ctx.k, ctx.config, async (trx) => {
      const row = await trx
        .insertInto('conversions')
        .values({
          enrollment_id: e.id,
          order_id: order.id,
          customer_id: order.customer_id,
          sequence_id: e.sequence_id,
          step_id: credited?.step_id ?? null,
          variant_id: credited?.variant_id ?? null,
          holdout: e.holdout,
          revenue_minor: order.total_minor,
          discount_minor: order.discount_minor,
          currency: order.currency,
          attributed_by: by,
          converted_at: order.ordered_at,
        })
        .onConflict((oc) => oc.columns(['enrollment_id', 'order_id']).doNothing())
        .returning('id')
        .executeTakeFirst();
      if (row) await emitEvent(trx, ctx.config, conversionEvent(row.id, e, order, by, credited));
      return row;
    });
    if (!inserted) continue;
    await ctx.k.updateTable('enrollments').set({ status: 'converted', ended_at: order.ordered_at, next_due_at: null, exit_reason: 'purchased' }).where('id', '=', e.id).execute();
    // Mails still waiting for this enrolment are no longer wanted.
    await ctx.k.updateTable('messages').set({ status: 'cancelled', error: 'customer converted', updated_at: ctx.clock.now() }).where('enrollment_id', '=', e.id).where('status', '=', 'reserved').execute();
    results.push({ enrollmentId: e.id, sequenceId: e.sequence_id, holdout: e.holdout === 1, attributedBy: by });
  }
  return results;
}

/** The `conversion.created` webhook event of a conversion (docs/WEBHOOKS.md). */
function conversionEvent(
  id: number,
  e: { id: number; customer_id: number; sequence_id: string },
  order: { external_id: string; total_minor: number; discount_minor: number; currency: string; ordered_at: number },
  by: string,
  credited: { step_id: string | null; variant_id: string | null } | undefined,
): WebhookEventInput {
  const data = { conversion_id: id, order: { external_id: order.external_id, total_minor: order.total_minor, discount_minor: order.discount_minor, currency: order.currency }, attributed_by: by, step: credited?.step_id ?? null, variant: credited?.variant_id ?? null };
  return { type: 'conversion.created', customerId: e.customer_id, enrollmentId: e.id, sequenceId: e.sequence_id, refId: id, data, occurredAt: order.ordered_at };
}

/** The goal `new_category`: the order has an item in a category the customer never bought before enrolment. */
async function inNewCategory(ctx: EngineContext, orderId: number, customerId: number, enrolledAt: number): Promise<boolean> {
  const items = await ctx.k.selectFrom('order_items').select('category').distinct().where('order_id', '=', orderId).where('category', 'is not', null).execute();
  if (items.length === 0) return false;
  const before = await ctx.k
    .selectFrom('order_items as i')
    .innerJoin('orders as o', 'o.id', 'i.order_id')
    .select('i.category')
    .distinct()
    .where('o.customer_id', '=', customerId)
    .where('o.ordered_at', '<', enrolledAt)
    .where('o.status', '!=', 'cancelled')
    .execute();
  const known = new Set(before.map((b) => b.category));
  return items.some((i) => !known.has(i.category));
}
