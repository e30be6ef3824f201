import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';

/** A catalogue product as recommendations use it. */
export interface ShopProduct {
  sku: string;
  name: string;
  category: string | null;
  price: number;
  currency: string;
  url: string | null;
  image_url: string | null;
}

/** Per-shop data shared by every recipient: loaded with three queries, kept for a short time. */
export interface ShopData {
  /** In-stock products by SKU. */
  inStock: Map<string, ShopProduct>;
  /** In-stock SKUs, best-selling first (last 365 days). */
  bestsellers: string[];
  /** In-stock SKUs per category, best-selling first, then unsold ones. */
  byCategory: Map<string, string[]>;
  /** For a SKU, the SKUs bought in the same orders, most often first (any stock state). */
  together: Map<string, { sku: string; n: number }[]>;
  loadedAt: number;
}

/** How long per-shop data is reused before it is loaded again. */
export const SHOP_DATA_TTL_MS = 10 * 60_000;
const WINDOW_MS = 365 * 86_400_000;
const PARTNERS = 10;

const cache = new WeakMap<Kysely<Database>, { at: number; data: Promise<ShopData> }>();

/** Forgets the cached per-shop data of a database (after a catalogue import, in tests). */
export function invalidateShopData(db: Kysely<Database>): void {
  cache.delete(db);
}

/**
 * The per-shop data (catalogue in stock, bestsellers overall and per category, bought-together
 * pairs) for recommendations, loaded once and shared by all recipients for `SHOP_DATA_TTL_MS`.
 */
export function shopData(db: Kysely<Database>, now: number, ttlMs = SHOP_DATA_TTL_MS): Promise<ShopData> {
  const hit = cache.get(db);
  const t = performance.now();
  if (hit && t - hit.at < ttlMs) return hit.data;
  const data = loadShopData(db, now);
  cache.set(db, { at: t, data });
  data.catch(() => cache.delete(db));
  return data;
}

async function loadShopData(db: Kysely<Database>, now: number): Promise<ShopData> {
  const since = now - WINDOW_MS;
  const products = await db
    .selectFrom('products')
    .select(['external_id', 'name', 'category', 'price_minor', 'currency', 'url', 'image_url'])
    .where('in_stock', '=', 1)
    .execute();
  const inStock = new Map<string, ShopProduct>(
    products.map((p) => [
      p.external_id,
      {
        sku: p.external_id,
        name: p.name,
        category: p.category,
        price: Number(p.price_minor),
        currency: p.currency,
        url: p.url,
        image_url: p.image_url,
      },
    ]),
  );
  const sales = await db
    .selectFrom('order_items as oi')
    .innerJoin('orders as o', 'o.id', 'oi.order_id')
    .select(['oi.sku', sql<number>`sum(oi.quantity)`.as('n')])
    .where('o.ordered_at', '>=', since)
    .where('o.status', '!=', 'cancelled')
    .groupBy('oi.sku')
    .orderBy(sql`sum(oi.quantity)`, 'desc')
    .limit(5000)
    .execute();
  const bestsellers = sales.map((s) => s.sku).filter((sku) => inStock.has(sku));
  const byCategory = new Map<string, string[]>();
  // Best-selling first, then the rest of the category in stock (a new product has no sales yet).
  const sold = new Set(bestsellers);
  for (const sku of [...bestsellers, ...[...inStock.keys()].filter((k) => !sold.has(k))]) {
    const category = inStock.get(sku)!.category;
    if (!category) continue;
    const list = byCategory.get(category) ?? [];
    if (list.length < 20) list.push(sku);
    byCategory.set(category, list);
  }
  const pairs = await db
    .selectFrom('order_items as a')
    .innerJoin('order_items as b', (j) => j.onRef('b.order_id', '=', 'a.order_id').onRef('b.sku', '!=', 'a.sku'))
    .innerJoin('orders as o', 'o.id', 'a.order_id')
    .select(['a.sku as sku', 'b.sku as other', sql<number>`count(*)`.as('n')])
    .where('o.ordered_at', '>=', since)
    .where('o.status', '!=', 'cancelled')
    .groupBy(['a.sku', 'b.sku'])
    .orderBy(sql`count(*)`, 'desc')
    .limit(50_000)
    .execute();
  const together = new Map<string, { sku: string; n: number }[]>();
  for (const p of pairs) {
    const list = together.get(p.sku) ?? [];
    if (list.length < PARTNERS) list.push({ sku: p.other, n: Number(p.n) });
    together.set(p.sku, list);
  }
  return { inStock, bestsellers, byCategory, together, loadedAt: now };
}

/** A recommended product and why it was chosen. */
export interface Recommendation extends ShopProduct {
  reason: 'bought_together' | 'category_bestseller' | 'bestseller';
}

/**
 * Up to `count` in-stock products the customer does not own yet: first those bought together with
 * the customer's products (the most recent purchases weigh most), then bestsellers of the
 * favourite categories, then the shop's bestsellers.
 */
export function recommend(
  shop: ShopData,
  ownedRecentFirst: string[],
  favoriteCategories: string[],
  count = 3,
): Recommendation[] {
  const owned = new Set(ownedRecentFirst);
  const out: Recommendation[] = [];
  const taken = new Set<string>();
  const take = (sku: string, reason: Recommendation['reason']) => {
    if (out.length >= count || owned.has(sku) || taken.has(sku)) return;
    const p = shop.inStock.get(sku);
    if (!p) return;
    taken.add(sku);
    out.push({ ...p, reason });
  };
  const score = new Map<string, number>();
  ownedRecentFirst.slice(0, 20).forEach((sku, i) => {
    for (const partner of shop.together.get(sku) ?? [])
      score.set(partner.sku, (score.get(partner.sku) ?? 0) + partner.n / (1 + i));
  });
  for (const [sku] of [...score].sort((a, b) => b[1] - a[1])) take(sku, 'bought_together');
  for (const c of favoriteCategories) for (const sku of shop.byCategory.get(c) ?? []) take(sku, 'category_bestseller');
  for (const sku of shop.bestsellers) take(sku, 'bestseller');
  return out;
}
