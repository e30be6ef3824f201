import type { Kysely } from 'kysely';
import { statementChunks } from '../db/chunks.js';
import type { Database } from '../db/schema.js';
import { customerIdsByExternalId } from './customers.js';
import type { ShopOrder } from './currency.js';
import { parseInput } from '../util/parse-input.js';
import { OrderInput, type ParsedOrder } from './types.js';

/** Validates an order; throws zod's error on invalid input. */
export function parseOrder(input: OrderInput): ParsedOrder {
  return parseInput(OrderInput, input, `order${typeof input?.externalId === 'string' ? ` ${input.externalId}` : ''}`);
}

/** The outcome of storing a batch: stored orders by external id, and orders whose customer is unknown. */
export interface StoredOrders {
  ids: Map<string, { id: number; customerId: number }>;
  unknownCustomer: ShopOrder[];
}

/**
 * Inserts or updates a batch of orders by external id, with their items (an order's items are
 * replaced when the new row carries items). Orders of unknown customers are returned, not stored.
 * Storage only: the engine's `recordOrders` is the door that also attributes them.
 */
export async function recordOrderBatch(
  db: Kysely<Database>,
  orders: ShopOrder[],
  defaultCurrency: string,
  now: number,
): Promise<StoredOrders> {
  const customers = await customerIdsByExternalId(
    db,
    orders.map((o) => o.customerExternalId),
  );
  const known = orders.filter((o) => customers.has(o.customerExternalId));
  const unknownCustomer = orders.filter((o) => !customers.has(o.customerExternalId));
  const ids = new Map<string, { id: number; customerId: number }>();
  if (known.length === 0) return { ids, unknownCustomer };
  const rows = known.map((o) => ({
    external_id: o.externalId,
    customer_id: customers.get(o.customerExternalId)!,
    ordered_at: o.orderedAt,
    total_minor: o.totalMinor,
    discount_minor: o.discountMinor,
    currency: o.currency ?? defaultCurrency,
    status: o.status,
    paid_late: o.paidLate ? 1 : 0,
    returned_minor: o.returnedMinor,
    coupon_code: o.couponCode ?? null,
    created_at: now,
    original_total_minor: o.original?.totalMinor ?? null,
    original_currency: o.original?.currency ?? null,
  }));
  for (const chunk of statementChunks(rows, Object.keys(rows[0]!).length)) {
    const stored = await db
      .insertInto('orders')
      .values(chunk)
      .onConflict((oc) =>
        oc.column('external_id').doUpdateSet((eb) => ({
          customer_id: eb.ref('excluded.customer_id'),
          ordered_at: eb.ref('excluded.ordered_at'),
          total_minor: eb.ref('excluded.total_minor'),
          discount_minor: eb.ref('excluded.discount_minor'),
          currency: eb.ref('excluded.currency'),
          status: eb.ref('excluded.status'),
          paid_late: eb.ref('excluded.paid_late'),
          returned_minor: eb.ref('excluded.returned_minor'),
          coupon_code: eb.ref('excluded.coupon_code'),
          original_total_minor: eb.ref('excluded.original_total_minor'),
          original_currency: eb.ref('excluded.original_currency'),
        })),
      )
      .returning(['id', 'external_id', 'customer_id'])
      .execute();
    for (const r of stored) ids.set(r.external_id, { id: r.id, customerId: r.customer_id });
  }

  const withItems = known.filter((o) => o.items.length > 0);
  if (withItems.length > 0) {
    const orderIds = withItems.map((o) => ids.get(o.externalId)!.id);
    for (const chunk of statementChunks(orderIds, 1))
      await db.deleteFrom('order_items').where('order_id', 'in', chunk).execute();
    const skus = [...new Set(withItems.flatMap((o) => o.items.map((i) => i.sku)))];
    const products = new Map<string, number>();
    for (let i = 0; i < skus.length; i += 500) {
      const found = await db
        .selectFrom('products')
        .select(['id', 'external_id'])
        .where('external_id', 'in', skus.slice(i, i + 500))
        .execute();
      for (const p of found) products.set(p.external_id, p.id);
    }
    const items = withItems.flatMap((o) =>
      o.items.map((i) => ({
        order_id: ids.get(o.externalId)!.id,
        product_id: products.get(i.sku) ?? null,
        sku: i.sku,
        name: i.name,
        category: i.category ?? null,
        quantity: i.quantity,
        unit_price_minor: i.unitPriceMinor,
      })),
    );
    for (let i = 0; i < items.length; i += 500)
      await db
        .insertInto('order_items')
        .values(items.slice(i, i + 500))
        .execute();
  }
  return { ids, unknownCustomer };
}
