/**
 * Where shop data enters: the Shopify export, webhooks and `comeback sync` all record through
 * here, and every order goes through the engine's one order door (`engine.orders.recordMany`), so it
 * is attributed like an order from the import, the HTTP API or the library.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Engine } from '../engine/engine.js';
import { MAX_ORDERS_PER_CALL, shopOrders } from '../engine/orders.js';
import { ComebackError } from '../errors.js';
import type { OrderInput } from '../shop/types.js';
import type { ShopCustomer, ShopOrder, ShopProvider } from './types.js';

/** What applying a batch did. */
export interface ApplyResult {
  customers: number;
  /** Consent entries appended to the ledger. */
  consents: number;
  orders: number;
  conversions: number;
  /** Records older than what is stored already (an out-of-order webhook): not applied. */
  stale: number;
  /** Orders refused, with the reason (unknown customer, foreign currency). */
  rejected: { externalId: string; reason: string }[];
}

/** An empty result to add to. */
export const emptyResult = (): ApplyResult => ({
  customers: 0,
  consents: 0,
  orders: 0,
  conversions: 0,
  stale: 0,
  rejected: [],
});

/**
 * The order door for a batch: valid orders are recorded together (`engine.orders.recordMany`);
 * when the batch is refused (an unknown customer), each order is tried on its own so one bad
 * order does not hold back the others. Returns the orders that were refused, with the reason.
 */
async function recordBatch(engine: Engine, inputs: OrderInput[], result: ApplyResult): Promise<OrderInput[]> {
  const valid: OrderInput[] = [];
  for (const input of inputs) {
    // The door's own check (currency rule included), one order at a time to name the refused one.
    const problem = refusal(() => shopOrders(engine.ctx, [input]));
    if (problem) result.rejected.push({ externalId: input.externalId, reason: problem });
    else valid.push(input);
  }
  if (valid.length === 0) return [];
  try {
    result.conversions += (await engine.orders.recordMany(valid)).conversions.length;
    return valid;
  } catch (err) {
    if (!(err instanceof ComebackError)) throw err;
    if (valid.length === 1) {
      result.rejected.push({ externalId: valid[0]!.externalId, reason: err.message });
      return [];
    }
  }
  const recorded: OrderInput[] = [];
  for (const input of valid) recorded.push(...(await recordBatch(engine, [input], result)));
  return recorded;
}

/** The message of the ComebackError `f` throws, if it does. */
function refusal(f: () => unknown): string | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    if (err instanceof ComebackError) return err.message;
    throw err;
  }
}

/** One record per id: the most recently changed one. */
function newestById<T extends { updatedAt?: number }>(items: T[], id: (t: T) => string): Map<string, T> {
  const byId = new Map<string, T>();
  for (const item of items) {
    const prev = byId.get(id(item));
    if (!prev || (item.updatedAt ?? 0) >= (prev.updatedAt ?? 0)) byId.set(id(item), item);
  }
  return byId;
}

/** Keeps the records newer than what was applied; ties and older ones are stale. */
async function newer<T extends { updatedAt?: number }>(
  k: Kysely<Database>,
  kind: string,
  items: T[],
  id: (t: T) => string,
): Promise<T[]> {
  const dated = items.filter((i) => i.updatedAt !== undefined);
  if (dated.length === 0) return items;
  const stored = new Map<string, number>();
  const ids = [...new Set(dated.map(id))];
  for (let i = 0; i < ids.length; i += 500) {
    const rows = await k
      .selectFrom('shop_versions')
      .select(['external_id', 'updated_at'])
      .where('kind', '=', kind)
      .where('external_id', 'in', ids.slice(i, i + 500))
      .execute();
    for (const r of rows) stored.set(r.external_id, Number(r.updated_at));
  }
  return items.filter((i) => i.updatedAt === undefined || !(stored.get(id(i))! >= i.updatedAt));
}

/** Remembers the newest `updated_at` applied per record; never moves it back. */
async function remember(
  k: Kysely<Database>,
  kind: string,
  items: { externalId: string; updatedAt?: number }[],
): Promise<void> {
  const latest = new Map<string, number>();
  for (const i of items)
    if (i.updatedAt !== undefined && !(latest.get(i.externalId)! >= i.updatedAt)) latest.set(i.externalId, i.updatedAt);
  const rows = [...latest].map(([external_id, updated_at]) => ({ kind, external_id, updated_at }));
  for (let i = 0; i < rows.length; i += 300) {
    await k
      .insertInto('shop_versions')
      .values(rows.slice(i, i + 300))
      .onConflict((oc) =>
        oc
          .columns(['kind', 'external_id'])
          .doUpdateSet((eb) => ({ updated_at: eb.ref('excluded.updated_at') }))
          .where((eb) => eb('shop_versions.updated_at', '<', eb.ref('excluded.updated_at'))),
      )
      .execute();
  }
}

/**
 * Upserts customers and appends the marketing consent the shop states (a grant or withdrawal
 * already in the ledger with the same time is not appended again). Withdrawals go through the
 * engine's consent door, so pending mail stops at once.
 */
export async function applyCustomers(
  engine: Engine,
  provider: ShopProvider,
  customers: ShopCustomer[],
  result = emptyResult(),
): Promise<ApplyResult> {
  const k = engine.ctx.k;
  const byId = newestById(customers, (c) => c.input.externalId);
  const newest = await newer(k, `${provider}:customer`, [...byId.values()], (c) => c.input.externalId);
  // An erased person's record is not stored again (upsertCustomerRows): it gets no id.
  const ids =
    newest.length === 0 ? new Map<string, number>() : await engine.customers.upsert(newest.map((c) => c.input));
  const fresh = newest.filter((c) => ids.has(c.input.externalId));
  result.stale += byId.size - fresh.length;
  if (fresh.length === 0) return result;
  const withConsent = fresh.filter((c) => c.consent);
  const seen = new Set<string>();
  if (withConsent.length > 0) {
    const rows = await k
      .selectFrom('consents')
      .select(['customer_id', 'action', 'basis', 'recorded_at'])
      .where('source', '=', provider)
      .where(
        'customer_id',
        'in',
        withConsent.map((c) => ids.get(c.input.externalId)!),
      )
      .execute();
    for (const r of rows) seen.add(`${r.customer_id}|${r.action}|${r.basis}|${r.recorded_at}`);
  }
  for (const c of withConsent) {
    const id = ids.get(c.input.externalId)!;
    const s = c.consent!;
    if (seen.has(`${id}|${s.action}|${s.basis}|${s.at}`)) continue;
    await engine.consents.record({
      customer: id,
      action: s.action,
      basis: s.basis,
      source: provider,
      recordedAt: s.at,
      evidence: s.evidence,
    });
    seen.add(`${id}|${s.action}|${s.basis}|${s.at}`);
    result.consents++;
  }
  await remember(
    k,
    `${provider}:customer`,
    fresh.map((c) => ({ externalId: c.input.externalId, updatedAt: c.updatedAt })),
  );
  result.customers += fresh.length;
  return result;
}

/**
 * Records orders through the order door, oldest change first; an order older than the stored one
 * is skipped. A customer the order carries is upserted first; one the shop has not sent is
 * refused with the reason, and so is an order in a foreign currency.
 */
export async function applyOrders(
  engine: Engine,
  provider: ShopProvider,
  orders: ShopOrder[],
  result = emptyResult(),
): Promise<ApplyResult> {
  const carried = orders.flatMap((o) => (o.customer ? [o.customer] : []));
  // Counted as the orders' customers, not as customers read: only their consents add up.
  if (carried.length > 0) result.consents += (await applyCustomers(engine, provider, carried)).consents;
  const kind = `${provider}:order`;
  const byId = newestById(orders, (o) => o.input.externalId);
  const fresh = await newer(engine.ctx.k, kind, [...byId.values()], (o) => o.input.externalId);
  result.stale += byId.size - fresh.length;
  const updatedAt = new Map(fresh.map((o) => [o.input.externalId, o.updatedAt]));
  const applied: { externalId: string; updatedAt?: number }[] = [];
  for (let i = 0; i < fresh.length; i += MAX_ORDERS_PER_CALL) {
    const recorded = await recordBatch(
      engine,
      fresh.slice(i, i + MAX_ORDERS_PER_CALL).map((o) => o.input),
      result,
    );
    for (const input of recorded)
      applied.push({ externalId: input.externalId, updatedAt: updatedAt.get(input.externalId) });
    result.orders += recorded.length;
  }
  await remember(engine.ctx.k, kind, applied);
  return result;
}
