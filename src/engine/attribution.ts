import type { Kysely } from 'kysely';
import { DAY } from '../clock.js';
import { statementChunks } from '../db/chunks.js';
import type { Database } from '../db/schema.js';
import { parseDuration } from '../sequences/duration.js';
import type { Sequence } from '../sequences/schema.js';
import { emitEvents, type WebhookEventInput } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';

/** A conversion that an order produced. */
export interface Attribution {
  enrollmentId: number;
  sequenceId: string;
  holdout: boolean;
  /** `goal_window`: the purchase met the goal; `coupon` when it also redeemed the enrolment's coupon. */
  attributedBy: string;
  orderId: number;
}

type OrderRow = {
  id: number;
  external_id: string;
  customer_id: number;
  ordered_at: number;
  total_minor: number;
  discount_minor: number;
  currency: string;
  coupon_code: string | null;
};
type EnrollmentRow = {
  id: number;
  customer_id: number;
  sequence_id: string;
  sequence_version: number;
  enrolled_at: number;
  status: string;
  holdout: number;
};

/** Rows for `ids`, one statement per chunk of ids. */
async function byIds<T>(ids: readonly number[], query: (chunk: number[]) => Promise<T[]>): Promise<T[]> {
  const out: T[] = [];
  for (const chunk of statementChunks([...new Set(ids)], 1)) out.push(...(await query(chunk)));
  return out;
}

/**
 * Attributes a batch of stored orders (a handful of queries per batch, not per order). One rule
 * for every enrolment, mailed or holdout, whatever happened after enrolment (intention to treat):
 * an order converts an enrolment when it was placed within the goal window from enrolment and
 * meets the goal's conditions (`min_amount_ratio` of the former average basket, `new_category`).
 * An unsubscribe, complaint or bounce does not stop a later purchase from counting. A coupon
 * never loosens the rule: it only names the mail credited when no human click does (the last
 * human click before the order names the step and variant first). An enrolment converts once,
 * by its earliest qualifying order; a running one ends as `converted` and its reserved mails
 * are cancelled. Idempotent: attributing the same orders again changes nothing.
 * Runs on `db`, so a caller can attribute inside the transaction that stored the orders.
 */
export async function attributeOrders(
  ctx: EngineContext,
  db: Kysely<Database>,
  orderIds: readonly number[],
): Promise<Attribution[]> {
  const orders = await byIds(orderIds, (chunk) =>
    db
      .selectFrom('orders')
      .select([
        'id',
        'external_id',
        'customer_id',
        'ordered_at',
        'total_minor',
        'discount_minor',
        'currency',
        'coupon_code',
      ])
      .where('id', 'in', chunk)
      .where('status', '!=', 'cancelled')
      .execute(),
  );
  if (orders.length === 0) return [];
  await markRedeemedCoupons(db, orders);
  const latest = Math.max(...orders.map((o) => o.ordered_at));
  const enrolled = await byIds(
    orders.map((o) => o.customer_id),
    (chunk) =>
      db
        .selectFrom('enrollments')
        .select(['id', 'customer_id', 'sequence_id', 'sequence_version', 'enrolled_at', 'status', 'holdout'])
        .where('customer_id', 'in', chunk)
        .where('status', '!=', 'converted')
        .where('enrolled_at', '<=', latest)
        .execute(),
  );
  if (enrolled.length === 0) return [];
  // An enrolment that left (unsubscribe, bounce...) keeps its status; its conversion row says it converted.
  const converted = new Set(
    (
      await byIds(
        enrolled.map((e) => e.id),
        (chunk) => db.selectFrom('conversions').select('enrollment_id').where('enrollment_id', 'in', chunk).execute(),
      )
    ).map((c) => c.enrollment_id),
  );
  const open = enrolled.filter((e) => !converted.has(e.id));
  const ordersOf = new Map<number, OrderRow[]>();
  for (const o of [...orders].sort((a, b) => a.ordered_at - b.ordered_at || a.id - b.id)) {
    const list = ordersOf.get(o.customer_id);
    if (list) list.push(o);
    else ordersOf.set(o.customer_id, [o]);
  }

  // Orders inside each enrolment's goal window, earliest first.
  const goals = new Map<number, NonNullable<Sequence['goal']>['purchase']>();
  const windows: { e: EnrollmentRow; inWindow: OrderRow[] }[] = [];
  for (const e of open) {
    const goal = (await ctx.sequences.version(e.sequence_id, e.sequence_version, db)).goal?.purchase;
    goals.set(e.id, goal);
    const end = e.enrolled_at + (goal ? parseDuration(goal.within) : 30 * DAY);
    const inWindow = (ordersOf.get(e.customer_id) ?? []).filter(
      (o) => o.ordered_at >= e.enrolled_at && o.ordered_at <= end,
    );
    if (inWindow.length > 0) windows.push({ e, inWindow });
  }
  if (windows.length === 0) return [];
  const conditions = await goalConditions(db, windows, goals);

  const results: Attribution[] = [];
  const matches: { e: EnrollmentRow; o: OrderRow }[] = [];
  for (const { e, inWindow } of windows) {
    const o = inWindow.find((order) => conditions.meets(e.id, goals.get(e.id), order));
    if (o) matches.push({ e, o });
  }
  if (matches.length === 0) return [];
  const credits = await creditedMails(db, matches);
  const rows = matches.map(({ e, o }) => {
    const credit = credits.get(e.id);
    return {
      enrollment_id: e.id,
      order_id: o.id,
      customer_id: o.customer_id,
      sequence_id: e.sequence_id,
      step_id: credit?.step_id ?? null,
      variant_id: credit?.variant_id ?? null,
      holdout: e.holdout,
      revenue_minor: o.total_minor,
      discount_minor: o.discount_minor,
      currency: o.currency,
      attributed_by: credit?.byCoupon ? 'coupon' : 'goal_window',
      converted_at: o.ordered_at,
    };
  });
  const inserted = new Set<number>();
  for (const chunk of statementChunks(rows, Object.keys(rows[0]!).length)) {
    const ids = await db
      .insertInto('conversions')
      .values(chunk)
      .onConflict((oc) => oc.columns(['enrollment_id', 'order_id']).doNothing())
      .returning(['id', 'enrollment_id'])
      .execute();
    for (const r of ids) inserted.add(r.enrollment_id);
    // The outbox rows are written on `db`, in the transaction that stores the conversions.
    const made = new Map(ids.map((r) => [r.enrollment_id, r.id]));
    await emitEvents(
      db,
      ctx.config,
      matches
        .filter(({ e }) => made.has(e.id))
        .map(({ e, o }) => conversionEvent(made.get(e.id)!, e, o, credits.get(e.id))),
    );
  }
  const running = matches.filter(({ e }) => inserted.has(e.id) && (e.status === 'active' || e.status === 'completed'));
  for (const { e, o } of running) {
    await db
      .updateTable('enrollments')
      .set({ status: 'converted', ended_at: o.ordered_at, next_due_at: null, exit_reason: 'purchased' })
      .where('id', '=', e.id)
      .execute();
  }
  // Mails still waiting for a converted enrolment are no longer wanted.
  const now = ctx.clock.now();
  for (const chunk of statementChunks(
    running.map(({ e }) => e.id),
    1,
  )) {
    await db
      .updateTable('messages')
      .set({ status: 'cancelled', error: 'customer converted', updated_at: now })
      .where('enrollment_id', 'in', chunk)
      .where('status', '=', 'reserved')
      .execute();
  }
  for (const r of rows) {
    if (inserted.has(r.enrollment_id)) {
      results.push({
        enrollmentId: r.enrollment_id,
        sequenceId: r.sequence_id,
        holdout: r.holdout === 1,
        attributedBy: r.attributed_by,
        orderId: r.order_id,
      });
    }
  }
  return results;
}

/** A coupon used in an order of its customer is redeemed, whether or not the order converts. */
async function markRedeemedCoupons(db: Kysely<Database>, orders: OrderRow[]): Promise<void> {
  for (const o of orders) {
    if (!o.coupon_code) continue;
    await db
      .updateTable('coupons')
      .set({ redeemed_order_id: o.id })
      .where('code', '=', o.coupon_code)
      .where('customer_id', '=', o.customer_id)
      .where('redeemed_order_id', 'is', null)
      .execute();
  }
}

/**
 * The goal conditions of a batch, from three grouped queries: the average basket before each
 * enrolment, the categories bought before it, and the categories of each order.
 */
async function goalConditions(
  db: Kysely<Database>,
  windows: { e: EnrollmentRow; inWindow: OrderRow[] }[],
  goals: Map<number, NonNullable<Sequence['goal']>['purchase']>,
) {
  const withRatio = windows.filter(({ e }) => goals.get(e.id)?.min_amount_ratio).map(({ e }) => e.id);
  const withCategory = windows.filter(({ e }) => goals.get(e.id)?.new_category);
  const averages = new Map<number, number>();
  for (const r of await byIds(withRatio, (chunk) =>
    db
      .selectFrom('enrollments as e')
      .innerJoin('orders as o', (j) =>
        j.onRef('o.customer_id', '=', 'e.customer_id').onRef('o.ordered_at', '<', 'e.enrolled_at'),
      )
      .select((eb) => ['e.id', eb.fn.avg<number>('o.total_minor').as('avg')])
      .where('e.id', 'in', chunk)
      .where('o.status', '!=', 'cancelled')
      .groupBy('e.id')
      .execute(),
  ))
    averages.set(r.id, Number(r.avg));
  const before = new Map<number, Set<string>>();
  const bought = new Map<number, Set<string>>();
  if (withCategory.length > 0) {
    for (const r of await byIds(
      withCategory.map(({ e }) => e.id),
      (chunk) =>
        db
          .selectFrom('enrollments as e')
          .innerJoin('orders as o', (j) =>
            j.onRef('o.customer_id', '=', 'e.customer_id').onRef('o.ordered_at', '<', 'e.enrolled_at'),
          )
          .innerJoin('order_items as i', 'i.order_id', 'o.id')
          .select(['e.id', 'i.category'])
          .distinct()
          .where('e.id', 'in', chunk)
          .where('o.status', '!=', 'cancelled')
          .where('i.category', 'is not', null)
          .execute(),
    ))
      before.set(r.id, (before.get(r.id) ?? new Set()).add(r.category!));
    const orderIds = withCategory.flatMap(({ inWindow }) => inWindow.map((o) => o.id));
    for (const r of await byIds(orderIds, (chunk) =>
      db
        .selectFrom('order_items')
        .select(['order_id', 'category'])
        .distinct()
        .where('order_id', 'in', chunk)
        .where('category', 'is not', null)
        .execute(),
    )) {
      bought.set(r.order_id, (bought.get(r.order_id) ?? new Set()).add(r.category!));
    }
  }
  return {
    /** The goal's conditions hold for this order (a goal without conditions: any order in the window). */
    meets(enrollmentId: number, goal: NonNullable<Sequence['goal']>['purchase'], o: OrderRow): boolean {
      const avg = averages.get(enrollmentId) ?? 0;
      if (goal?.min_amount_ratio && avg > 0 && o.total_minor < goal.min_amount_ratio * avg) return false;
      if (goal?.new_category) {
        const known = before.get(enrollmentId) ?? new Set<string>();
        if (![...(bought.get(o.id) ?? [])].some((c) => !known.has(c))) return false;
      }
      return true;
    },
  };
}

/**
 * The mail each conversion credits: the last human click before the order; without one, the
 * mail whose coupon the order redeemed (`byCoupon`); else none.
 */
async function creditedMails(db: Kysely<Database>, matches: { e: EnrollmentRow; o: OrderRow }[]) {
  const out = new Map<number, { step_id: string; variant_id: string | null; byCoupon: boolean }>();
  const mailed = matches.filter(({ e }) => e.holdout === 0);
  const clicks = await byIds(
    mailed.map(({ e }) => e.id),
    (chunk) =>
      db
        .selectFrom('events')
        .innerJoin('messages', 'messages.id', 'events.message_id')
        .select(['events.enrollment_id', 'events.occurred_at', 'messages.step_id', 'messages.variant_id'])
        .where('events.enrollment_id', 'in', chunk)
        .where('events.type', '=', 'click')
        .where('events.machine', '=', 0)
        .execute(),
  );
  const coupons = await byIds(
    mailed.map(({ e }) => e.id),
    (chunk) =>
      db
        .selectFrom('coupons')
        .innerJoin('messages', 'messages.id', 'coupons.message_id')
        .select(['coupons.enrollment_id', 'coupons.code', 'messages.step_id', 'messages.variant_id'])
        .where('coupons.enrollment_id', 'in', chunk)
        .execute(),
  );
  const clicksOf = new Map<number, typeof clicks>();
  for (const c of clicks) clicksOf.set(c.enrollment_id!, [...(clicksOf.get(c.enrollment_id!) ?? []), c]);
  for (const { e, o } of mailed) {
    const click = (clicksOf.get(e.id) ?? [])
      .filter((c) => c.occurred_at <= o.ordered_at)
      .sort((a, b) => b.occurred_at - a.occurred_at)[0];
    const coupon = o.coupon_code
      ? coupons.find((c) => c.enrollment_id === e.id && c.code === o.coupon_code)
      : undefined;
    if (click) out.set(e.id, { step_id: click.step_id, variant_id: click.variant_id, byCoupon: !!coupon });
    else if (coupon) out.set(e.id, { step_id: coupon.step_id, variant_id: coupon.variant_id, byCoupon: true });
  }
  return out;
}

/** The `conversion.created` webhook event of a conversion (docs/WEBHOOKS.md). */
function conversionEvent(
  id: number,
  e: { id: number; customer_id: number; sequence_id: string },
  order: { external_id: string; total_minor: number; discount_minor: number; currency: string; ordered_at: number },
  credited: { step_id: string; variant_id: string | null; byCoupon: boolean } | undefined,
): WebhookEventInput {
  const by = credited?.byCoupon ? 'coupon' : 'goal_window';
  const data = {
    conversion_id: id,
    order: {
      external_id: order.external_id,
      total_minor: order.total_minor,
      discount_minor: order.discount_minor,
      currency: order.currency,
    },
    attributed_by: by,
    step: credited?.step_id ?? null,
    variant: credited?.variant_id ?? null,
  };
  return {
    type: 'conversion.created',
    customerId: e.customer_id,
    enrollmentId: e.id,
    sequenceId: e.sequence_id,
    refId: id,
    data,
    occurredAt: order.ordered_at,
  };
}
