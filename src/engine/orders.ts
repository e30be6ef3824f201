import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { InputError, NotFoundError } from '../errors.js';
import { currencyProblem, toShopCurrency, type ShopMoney, type ShopOrder } from '../shop/currency.js';
import { recordOrderBatch } from '../shop/orders.js';
import { OrderInput } from '../shop/types.js';
import { attributeOrders, type Attribution } from './attribution.js';
import type { EngineContext } from './context.js';
import { applySuccess } from './success.js';

/** Orders one `recordOrders` call (and `engine.orders.recordMany`) may carry. */
export const MAX_ORDERS_PER_CALL = 10_000;

/** What recording a batch of orders did. */
export interface RecordedOrders {
  /** Stored orders (internal id and customer) by the shop's order id. */
  ids: Map<string, { id: number; customerId: number }>;
  /** Orders of customers not recorded yet: not stored. */
  unknownCustomer: ShopOrder[];
  /** Conversions the orders produced (an order may convert enrolments of several sequences). */
  conversions: Attribution[];
}

/** The shop's currency and rates, from the config. */
export function shopMoney(ctx: EngineContext): ShopMoney {
  return { currency: ctx.config.defaults.currency, exchangeRates: ctx.config.exchangeRates };
}

/**
 * Validates orders from any door and brings them into the shop's currency. Every problem of every
 * order is reported at once, each named by its place (`invalid order O-1: currency: ...` for
 * one, `orders[3] (O-1) currency: ...` in a list); nothing is stored when one is wrong.
 */
export function shopOrders(ctx: EngineContext, inputs: readonly OrderInput[]): ShopOrder[] {
  if (inputs.length > MAX_ORDERS_PER_CALL)
    throw new InputError('orders', [
      `expected at most ${MAX_ORDERS_PER_CALL} orders per call, got ${inputs.length}: split the list`,
    ]);
  const money = shopMoney(ctx);
  const single = inputs.length === 1;
  const issues: string[] = [];
  const orders = inputs.flatMap((input, i) => {
    const id = typeof input?.externalId === 'string' ? input.externalId : undefined;
    // One order names itself in the error's head; in a list each issue names its order.
    const place = single ? '' : `orders[${i}]${id ? ` (${id})` : ''} `;
    const parsed = OrderInput.safeParse(input);
    if (!parsed.success) {
      for (const x of parsed.error.issues) {
        issues.push(
          `${place}${x.path.join('.') || '(value)'}: ${x.code === 'unrecognized_keys' ? `unknown field(s) ${x.keys.join(', ')}` : x.message}`,
        );
      }
      return [];
    }
    const problem = currencyProblem(parsed.data, money);
    if (problem) {
      issues.push(`${place}${problem}`);
      return [];
    }
    return [toShopCurrency(parsed.data, money)];
  });
  if (issues.length > 0) {
    const id = single && typeof inputs[0]?.externalId === 'string' ? ` ${inputs[0].externalId}` : '';
    throw new InputError(single ? `order${id}` : 'orders', issues);
  }
  return orders;
}

/**
 * Stores orders in the shop's currency and attributes them, on `db` (inside the caller's
 * transaction). Successes are not applied here: call `applySuccesses` after the commit.
 */
export async function storeOrders(
  ctx: EngineContext,
  db: Kysely<Database>,
  orders: ShopOrder[],
): Promise<RecordedOrders> {
  const ids = new Map<string, { id: number; customerId: number }>();
  const unknownCustomer: ShopOrder[] = [];
  // Later rows with the same id win; one statement cannot upsert the same key twice.
  const unique = [...new Map(orders.map((o) => [o.externalId, o])).values()];
  for (let i = 0; i < unique.length; i += 1000) {
    const stored = await recordOrderBatch(db, unique.slice(i, i + 1000), ctx.config.defaults.currency, ctx.clock.now());
    for (const [k, v] of stored.ids) ids.set(k, v);
    unknownCustomer.push(...stored.unknownCustomer);
  }
  const conversions = await attributeOrders(
    ctx,
    db,
    [...ids.values()].map((v) => v.id),
  );
  return { ids, unknownCustomer, conversions };
}

/** Applies each conversion's consequences outside the transaction: tag, `on_success` sequence. */
export async function applySuccesses(ctx: EngineContext, conversions: readonly Attribution[]): Promise<void> {
  for (const c of conversions) await applySuccess(ctx, c);
}

/**
 * The one door for orders: the library (`engine.orders.record` / `recordMany`), `POST
 * /api/orders`, the import (through `storeOrders`, batch by batch) and shop connectors all come
 * here. Validates every order (an order in another currency than the shop's is refused unless
 * the config has a rate for it), stores them idempotently by the shop's order id, attributes
 * them in batches (intention to treat: see `attributeOrders`), which ends the enrolments of those
 * who bought, and then applies `on_success`. Recording the same orders again changes nothing.
 * All or nothing: an invalid order or an unknown customer throws and nothing is stored.
 * At most `MAX_ORDERS_PER_CALL` orders per call.
 */
export async function recordOrders(ctx: EngineContext, inputs: readonly OrderInput[]): Promise<RecordedOrders> {
  const orders = shopOrders(ctx, inputs);
  const result = await ctx.k.transaction().execute(async (trx) => {
    const r = await storeOrders(ctx, trx, orders);
    if (r.unknownCustomer.length > 0) {
      const names = [...new Set(r.unknownCustomer.map((o) => o.customerExternalId))];
      throw new NotFoundError('customer', names.join('", "'), 'Record the customer before their orders.');
    }
    return r;
  });
  await applySuccesses(ctx, result.conversions);
  return result;
}
