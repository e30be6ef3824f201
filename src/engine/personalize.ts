import type { Kysely } from 'kysely';
import { DAY } from '../clock.js';
import type { EngineConfig } from '../config/schema.js';
import type { Customer, Database } from '../db/schema.js';
import { CHURN_REASONS } from '../shop/types.js';
import {
  cleanName,
  labelsFor,
  noticesFor,
  reasonLabelsFor,
  salutation,
  type SalutationStyle,
} from '../templates/notices.js';
import { recommend, shopData } from '../templates/shop-data.js';
import type { TrackingUrls } from '../tracking/urls.js';

/** A coupon as templates see it. */
export interface CouponData {
  code: string;
  percent: number | null;
  amount: number | null;
  expires_at: number;
}

/** What is being sent, for UTM parameters and templates (`{{message.step}}`). */
export interface MessageInfo {
  sequence: string;
  step: string;
  variant: string | null;
  template: string;
}

/** Per-message inputs of the personalisation besides the customer. */
export interface PersonalizeExtra {
  coupon: CouponData | null;
  /** The sequence's (or the language default) salutation style; a customer attribute `salutation` wins. */
  style: SalutationStyle;
  /** The locale of the template file chosen (after fallback). */
  locale: string;
  message?: MessageInfo;
  /** Top-level keys the template uses (`CompiledTemplate.uses`): unused expensive keys are left empty. */
  uses?: ReadonlySet<string>;
  /** The customer's order history when it was read already (`orderHistories`, for a batch of recipients). */
  orders?: OrderRow[];
}

/** One row of a customer's order history: an order joined with one of its items (item columns null for an order without items). */
export interface OrderRow {
  id: number;
  external_id: string;
  ordered_at: number;
  total_minor: number;
  currency: string;
  sku: string | null;
  name: string | null;
  category: string | null;
  quantity: number | null;
  unit_price_minor: number | null;
  url: string | null;
  image_url: string | null;
}

/**
 * The order histories of these customers in one statement: every order that was not cancelled,
 * with its items and their product links, newest order first. Customers without orders are absent.
 */
export async function orderHistories(db: Kysely<Database>, customerIds: number[]): Promise<Map<number, OrderRow[]>> {
  const out = new Map<number, OrderRow[]>();
  if (customerIds.length === 0) return out;
  const rows = await db
    .selectFrom('orders as o')
    .leftJoin('order_items as oi', 'oi.order_id', 'o.id')
    .leftJoin('products as p', 'p.external_id', 'oi.sku')
    .select([
      'o.customer_id',
      'o.id',
      'o.external_id',
      'o.ordered_at',
      'o.total_minor',
      'o.currency',
      'oi.sku',
      'oi.name',
      'oi.category',
      'oi.quantity',
      'oi.unit_price_minor',
      'p.url',
      'p.image_url',
    ])
    .where('o.customer_id', 'in', customerIds)
    .where('o.status', '!=', 'cancelled')
    .orderBy('o.customer_id')
    .orderBy('o.ordered_at', 'desc')
    .orderBy('o.id', 'desc')
    .orderBy('oi.id')
    .execute();
  for (const { customer_id, ...row } of rows) {
    const list = out.get(customer_id);
    if (list) list.push(row as OrderRow);
    else out.set(customer_id, [row as OrderRow]);
  }
  return out;
}

const RECOMMEND_KEYS = ['recommendations'];
const REASON_KEYS = ['reasons', 'reason_links'];

/** The customer's locale when it is a valid refinement of the template's language, else the template's. */
function formattingLocale(customerLocale: string, templateLocale: string): string {
  const lang = templateLocale.split('-')[0]!.toLowerCase();
  try {
    const [canonical] = Intl.getCanonicalLocales(customerLocale.replace(/_/g, '-'));
    if (canonical && canonical.toLowerCase().split('-')[0] === lang) return canonical;
  } catch {
    // an invalid locale tag falls back to the template's language
  }
  return templateLocale;
}

function parseAttributes(json: string): Record<string, unknown> {
  try {
    const v = JSON.parse(json) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * The data model (DATA_MODEL in src/templates/model.ts) for one recipient, from purchase history:
 * one query per recipient unless `extra.orders` brings it (orders with their items and product
 * links, see `orderHistories`), plus shared per-shop data
 * for recommendations (cached for minutes, see `shopData`). Every documented key is present (null
 * when unknown), so strict rendering fails only on a real gap.
 */
export async function personalization(
  db: Kysely<Database>,
  config: EngineConfig,
  urls: TrackingUrls,
  customer: Customer,
  messageId: number,
  now: number,
  extra: PersonalizeExtra,
): Promise<Record<string, unknown>> {
  const wants = (keys: string[]) => !extra.uses || keys.some((k) => extra.uses!.has(k));
  const rows = extra.orders ?? (await orderHistories(db, [customer.id])).get(customer.id) ?? [];
  const orders: OrderRow[] = [];
  const items: (Omit<OrderRow, 'sku' | 'name'> & { order_id: number; sku: string; name: string })[] = [];
  for (const r of rows) {
    if (orders[orders.length - 1]?.id !== r.id) orders.push(r);
    if (r.sku !== null && r.name !== null) items.push({ ...r, order_id: r.id, sku: r.sku, name: r.name });
  }
  const last = orders[0];
  const currency = last?.currency ?? config.defaults.currency;
  const attributes = parseAttributes(customer.attributes);
  const style: SalutationStyle =
    attributes.salutation === 'formal' || attributes.salutation === 'informal' ? attributes.salutation : extra.style;
  const locale = formattingLocale(customer.locale, extra.locale);
  const shopUrl = config.shopUrl;

  const categories = new Map<string, number>();
  for (const i of items)
    if (i.category) categories.set(i.category, (categories.get(i.category) ?? 0) + Number(i.quantity));
  const favorites = [...categories]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([c]) => c);
  const total = orders.reduce((s, o) => s + Number(o.total_minor), 0);

  let recommendations: unknown[] = [];
  if (wants(RECOMMEND_KEYS)) {
    const shop = await shopData(db, now);
    const owned = [...new Set(items.map((i) => i.sku))];
    recommendations = recommend(shop, owned, favorites).map((p) => ({
      sku: p.sku,
      name: p.name,
      category: p.category,
      price: p.price,
      url: p.url ?? shopUrl,
      image_url: p.image_url,
      reason: p.reason,
    }));
  }
  const reasonLabels = reasonLabelsFor(extra.locale);
  const reasons = wants(REASON_KEYS)
    ? CHURN_REASONS.map((key, i) => ({ key, label: reasonLabels[key]!, url: urls.reason(messageId, i) }))
    : [];

  return {
    locale,
    language: extra.locale,
    time_zone: customer.time_zone,
    currency,
    now,
    style,
    first_name: cleanName(customer.first_name),
    last_name: cleanName(customer.last_name),
    title: cleanName(customer.title),
    email: customer.email,
    salutation: salutation(customer, extra.locale, style),
    attributes,
    orders_count: orders.length,
    total_spent: total,
    average_order: orders.length ? Math.round(total / orders.length) : 0,
    first_order_at: orders.length ? Number(orders[orders.length - 1]!.ordered_at) : null,
    days_since_last_order: last ? Math.floor((now - Number(last.ordered_at)) / DAY) : null,
    last_order: last
      ? {
          number: last.external_id,
          ordered_at: Number(last.ordered_at),
          total: Number(last.total_minor),
          items: items
            .filter((i) => i.order_id === last.id)
            .map((i) => ({
              sku: i.sku,
              name: i.name,
              category: i.category,
              quantity: Number(i.quantity),
              price: Number(i.unit_price_minor),
              url: i.url ?? shopUrl,
              image_url: i.image_url,
            })),
        }
      : null,
    favorite_categories: favorites,
    favorite_category: favorites[0] ?? null,
    recommendations,
    coupon: extra.coupon,
    churn_reason: customer.churn_reason,
    churn_reason_label: customer.churn_reason ? (reasonLabels[customer.churn_reason] ?? customer.churn_reason) : null,
    reasons,
    reason_links: Object.fromEntries(reasons.map((r) => [r.key, r.url])),
    shop_url: shopUrl,
    unsubscribe_url: urls.unsubscribe(messageId),
    preferences_url: urls.preferences(messageId),
    webview_url: urls.view(messageId),
    tracking_base: config.publicUrl,
    preheader: '',
    sender: { name: config.sender.name, postal_address: config.sender.postalAddress },
    notice: noticesFor(extra.locale),
    labels: labelsFor(extra.locale, style),
    message: extra.message ?? { sequence: '', step: '', variant: null, template: '' },
  };
}
