import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** A customer row of a page: id, late_payments, erased_at. */
export type CustomerCells = [id: number, latePayments: unknown, erasedAt: unknown];
/** An order row: id, customer_id, ordered_at, total_minor, discount_minor, returned_minor, paid_late. */
export type OrderCells = [
  id: number,
  customerId: number,
  orderedAt: unknown,
  totalMinor: unknown,
  discountMinor: unknown,
  returnedMinor: unknown,
  paidLate: unknown,
];
/** A consent ledger row: id, customer_id, action, basis, recorded_at, channel. */
export type ConsentCells = [
  id: number,
  customerId: number,
  action: string,
  basis: string | null,
  recordedAt: number,
  channel: string,
];

/**
 * One page of the shop: `size` customers in id order after a given id, with their orders (not
 * cancelled; sorted by customer and time) and consent entries up to the scoring time. Rows are
 * arrays, not objects: a million customers' worth of objects is mostly garbage to collect.
 */
export interface RawPage {
  customers: CustomerCells[];
  orders: OrderCells[];
  consents: ConsentCells[];
}

/** Reads pages of the shop. */
export interface PageSource {
  page(afterId: number, size: number, now: number): Promise<RawPage | null>;
  /** Customers in all (for progress) and the highest order id (the staleness watermark). */
  totals(): Promise<{ customers: number; ordersMaxId: number }>;
}

/** The page queries, the same SQL for every dialect; `?` placeholders. */
export const PAGE_SQL = {
  customers: 'select id, late_payments, erased_at from customers where id > ? order by id limit ?',
  orders:
    "select id, customer_id, ordered_at, total_minor, discount_minor, returned_minor, paid_late from orders where customer_id >= ? and customer_id <= ? and status <> 'cancelled' order by customer_id, ordered_at",
  consents:
    'select id, customer_id, action, basis, recorded_at, channel from consents where customer_id >= ? and customer_id <= ? and recorded_at <= ?',
  totals: 'select (select count(*) from customers) as customers, (select max(id) from orders) as orders_max_id',
} as const;

/** Pages through kysely (any dialect): two range queries per page, run together. */
export function kyselySource(k: Kysely<Database>): PageSource {
  return {
    async page(afterId, size, now) {
      const customers = await k
        .selectFrom('customers')
        .select(['id', 'late_payments', 'erased_at'])
        .where('id', '>', afterId)
        .orderBy('id')
        .limit(size)
        .execute();
      if (customers.length === 0) return null;
      const lo = customers[0]!.id;
      const hi = customers[customers.length - 1]!.id;
      const [orders, consents] = await Promise.all([
        k
          .selectFrom('orders')
          .select(['id', 'customer_id', 'ordered_at', 'total_minor', 'discount_minor', 'returned_minor', 'paid_late'])
          .where('customer_id', '>=', lo)
          .where('customer_id', '<=', hi)
          .where('status', '<>', 'cancelled')
          .orderBy('customer_id')
          .orderBy('ordered_at')
          .execute(),
        k
          .selectFrom('consents')
          .select(['id', 'customer_id', 'action', 'basis', 'recorded_at', 'channel'])
          .where('customer_id', '>=', lo)
          .where('customer_id', '<=', hi)
          .where('recorded_at', '<=', now)
          .execute(),
      ]);
      return {
        customers: customers.map((c) => [c.id, c.late_payments, c.erased_at]),
        orders: orders.map((o) => [
          o.id,
          o.customer_id,
          o.ordered_at,
          o.total_minor,
          o.discount_minor,
          o.returned_minor,
          o.paid_late,
        ]),
        consents: consents.map((c) => [c.id, c.customer_id, c.action, c.basis, c.recorded_at, c.channel]),
      };
    },
    async totals() {
      const r = await sql<{
        customers: number;
        orders_max_id: number | null;
      }>`select (select count(*) from customers) as customers, (select max(id) from orders) as orders_max_id`.execute(
        k,
      );
      return { customers: Number(r.rows[0]?.customers ?? 0), ordersMaxId: Number(r.rows[0]?.orders_max_id ?? 0) };
    },
  };
}
