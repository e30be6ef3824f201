/**
 * Shopify records → Comeback input. Two shapes: the GraphQL Admin API (sync) and the REST-style
 * JSON of webhooks. Ids are Shopify's numeric ids (`legacyResourceId`), the same in the export,
 * the API and webhooks, so a record arriving by all three is one record.
 */
import { parseMajorAmount } from '../../util/money.js';
import type { OrderInput } from '../../shop/types.js';
import type { ShopConsent, ShopCustomer, ShopOrder } from '../types.js';

const time = (s: string | null | undefined): number | undefined => (s ? Date.parse(s) : undefined);

/** Decimal text in major units → minor units of the currency (0 when absent). */
export function minor(amount: string | number | null | undefined, currency: string): number {
  if (amount === null || amount === undefined || amount === '') return 0;
  const v = parseMajorAmount(String(amount), currency);
  if (v === undefined) throw new Error(`amount "${amount}" is not a ${currency} amount`);
  return v;
}

/** The numeric id at the end of a `gid://shopify/Order/123` or a plain id. */
export function legacyId(id: string | number): string {
  const s = String(id);
  return s.slice(s.lastIndexOf('/') + 1);
}

/**
 * `emailMarketingConsent` → a ledger entry. Only `CONFIRMED_OPT_IN` (the customer confirmed by
 * mail) is double opt-in evidence; `SINGLE_OPT_IN` and `UNKNOWN` are a plain opt-in.
 * `UNSUBSCRIBED` is a withdrawal; other states (never subscribed, pending) record nothing.
 */
export function shopifyConsent(
  c: { state?: string; optInLevel?: string | null; updatedAt?: string | null } | null | undefined,
  fallbackAt: number,
): ShopConsent | undefined {
  if (!c?.state) return undefined;
  const state = c.state.toUpperCase();
  const level = (c.optInLevel ?? 'UNKNOWN').toUpperCase();
  const at = time(c.updatedAt) ?? fallbackAt;
  const evidence = {
    source: 'Shopify emailMarketingConsent',
    state,
    optInLevel: level,
    consentUpdatedAt: c.updatedAt ?? null,
  };
  if (state === 'SUBSCRIBED')
    return { action: 'grant', basis: level === 'CONFIRMED_OPT_IN' ? 'double_opt_in' : 'opt_in', at, evidence };
  if (state === 'UNSUBSCRIBED') return { action: 'withdraw', basis: null, at, evidence };
  return undefined;
}

/** A customer node of the GraphQL Admin API. */
export interface GqlCustomer {
  legacyResourceId: string;
  email?: string | null;
  firstName?: string | null;
  lastName?: string | null;
  locale?: string | null;
  tags?: string[];
  createdAt?: string;
  updatedAt?: string;
  numberOfOrders?: string | number;
  emailMarketingConsent?: {
    marketingState: string;
    marketingOptInLevel?: string | null;
    consentUpdatedAt?: string | null;
  } | null;
}

/** A customer from the GraphQL API. */
export function customerFromGql(c: GqlCustomer): ShopCustomer {
  const updatedAt = time(c.updatedAt);
  const m = c.emailMarketingConsent;
  return {
    input: {
      externalId: c.legacyResourceId,
      email: c.email || null,
      firstName: c.firstName || null,
      lastName: c.lastName || null,
      ...(c.locale ? { locale: c.locale } : {}),
      tags: c.tags ?? [],
      acquiredVia: Number(c.numberOfOrders ?? 0) > 0 ? 'sale' : 'unknown',
      ...(c.createdAt ? { createdAt: c.createdAt } : {}),
    },
    updatedAt,
    consent: shopifyConsent(
      m ? { state: m.marketingState, optInLevel: m.marketingOptInLevel, updatedAt: m.consentUpdatedAt } : null,
      updatedAt ?? 0,
    ),
  };
}

/** An order node of the GraphQL API. */
export interface GqlOrder {
  legacyResourceId: string;
  name: string;
  createdAt: string;
  updatedAt?: string;
  cancelledAt?: string | null;
  currencyCode: string;
  totalPriceSet: { shopMoney: { amount: string } };
  totalDiscountsSet?: { shopMoney: { amount: string } } | null;
  totalRefundedSet?: { shopMoney: { amount: string } } | null;
  discountCodes?: string[];
  customer?: GqlCustomer | null;
  lineItems?: {
    nodes: {
      sku?: string | null;
      name: string;
      quantity: number;
      originalUnitPriceSet: { shopMoney: { amount: string } };
    }[];
  };
}

/** The order door's status from Shopify's cancellation and refunds. */
function status(cancelled: boolean, total: number, refunded: number): OrderInput['status'] {
  if (cancelled) return 'cancelled';
  return refunded > 0 && refunded >= total ? 'returned' : 'paid';
}

/** An order from the GraphQL API (orders of guests without a customer cannot be recorded). */
export function orderFromGql(o: GqlOrder): ShopOrder {
  const cur = o.currencyCode;
  const total = minor(o.totalPriceSet.shopMoney.amount, cur);
  const refunded = minor(o.totalRefundedSet?.shopMoney.amount, cur);
  return {
    input: {
      externalId: o.legacyResourceId,
      customerExternalId: o.customer?.legacyResourceId ?? `guest:${o.name}`,
      orderedAt: o.createdAt,
      totalMinor: total,
      currency: cur,
      discountMinor: minor(o.totalDiscountsSet?.shopMoney.amount, cur),
      status: status(Boolean(o.cancelledAt), total, refunded),
      returnedMinor: Math.min(refunded, total),
      couponCode: o.discountCodes?.[0] ?? null,
      items: (o.lineItems?.nodes ?? []).map((li, i) => ({
        sku: li.sku || `${o.legacyResourceId}-${i + 1}`,
        name: li.name,
        quantity: li.quantity,
        unitPriceMinor: minor(li.originalUnitPriceSet.shopMoney.amount, cur),
      })),
    },
    updatedAt: time(o.updatedAt),
    customer: o.customer ? customerFromGql(o.customer) : undefined,
  };
}

/** A customer as webhooks send it (REST resource shape). */
export interface RestCustomer {
  id: number | string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  tags?: string;
  created_at?: string;
  updated_at?: string;
  orders_count?: number;
  email_marketing_consent?: { state: string; opt_in_level?: string | null; consent_updated_at?: string | null } | null;
}

/** A customer from a webhook body. */
export function customerFromRest(c: RestCustomer): ShopCustomer {
  const updatedAt = time(c.updated_at);
  const m = c.email_marketing_consent;
  return {
    input: {
      externalId: String(c.id),
      email: c.email || null,
      firstName: c.first_name || null,
      lastName: c.last_name || null,
      tags: c.tags
        ? c.tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean)
        : [],
      acquiredVia: (c.orders_count ?? 0) > 0 ? 'sale' : 'unknown',
      ...(c.created_at ? { createdAt: c.created_at } : {}),
    },
    updatedAt,
    consent: shopifyConsent(
      m ? { state: m.state, optInLevel: m.opt_in_level, updatedAt: m.consent_updated_at } : null,
      updatedAt ?? 0,
    ),
  };
}

/** An order as webhooks send it. */
export interface RestOrder {
  id: number | string;
  name: string;
  email?: string | null;
  created_at: string;
  updated_at?: string;
  cancelled_at?: string | null;
  currency: string;
  total_price: string;
  total_discounts?: string;
  discount_codes?: { code: string }[];
  customer?: RestCustomer | null;
  line_items?: { sku?: string | null; name: string; quantity: number; price: string }[];
  refunds?: { transactions?: { amount: string; kind?: string }[] }[];
}

/** An order from a webhook body; a customer the order carries is an order-time customer (`sale`). */
export function orderFromRest(o: RestOrder): ShopOrder {
  const cur = o.currency;
  const total = minor(o.total_price, cur);
  const refunded = (o.refunds ?? [])
    .flatMap((r) => r.transactions ?? [])
    .filter((t) => (t.kind ?? 'refund') === 'refund')
    .reduce((s, t) => s + minor(t.amount, cur), 0);
  const customer = o.customer
    ? customerFromRest({ ...o.customer, orders_count: Math.max(1, o.customer.orders_count ?? 1) })
    : undefined;
  return {
    input: {
      externalId: String(o.id),
      customerExternalId: o.customer ? String(o.customer.id) : `guest:${o.name}`,
      orderedAt: o.created_at,
      totalMinor: total,
      currency: cur,
      discountMinor: minor(o.total_discounts, cur),
      status: status(Boolean(o.cancelled_at), total, refunded),
      returnedMinor: Math.min(refunded, total),
      couponCode: o.discount_codes?.[0]?.code ?? null,
      items: (o.line_items ?? []).map((li, i) => ({
        sku: li.sku || `${o.id}-${i + 1}`,
        name: li.name,
        quantity: li.quantity,
        unitPriceMinor: minor(li.price, cur),
      })),
    },
    updatedAt: time(o.updated_at),
    customer,
  };
}
