/**
 * WooCommerce REST API v3 client (woocommerce.github.io/woocommerce-rest-api-docs). Basic auth
 * with the consumer key and secret over HTTPS; lists are paged (`page`, `per_page` ≤ 100) and
 * say their size in `X-WP-Total` / `X-WP-TotalPages`; a 429 waits for `Retry-After`.
 */
import type { ShopConfig } from '../../config/schema.js';
import { ShopApiError, ShopUnreachableError } from '../../errors.js';
import { minor } from '../shopify/map.js';
import { ATTEMPTS, pause, shopFetch, withRetries } from '../http.js';
import type { ShopClient, ShopCouponSpec, ShopCustomer, ShopOrder, ShopPage } from '../types.js';

/** A customer of the REST API. */
export interface WooCustomer {
  id: number;
  email: string;
  first_name?: string;
  last_name?: string;
  date_created_gmt?: string;
  date_modified_gmt?: string;
  is_paying_customer?: boolean;
}

/** An order of the REST API. */
export interface WooOrder {
  id: number;
  status: string;
  currency: string;
  date_created_gmt: string;
  date_modified_gmt?: string;
  total: string;
  discount_total?: string;
  customer_id: number;
  billing?: { email?: string; first_name?: string; last_name?: string };
  line_items?: { sku?: string; name: string; quantity: number; price: number | string }[];
  coupon_lines?: { code: string }[];
  refunds?: { total: string }[];
}

/** WooCommerce writes GMT times without a zone. */
const gmt = (s: string | undefined) => (s ? Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`) : undefined);

/** A customer from the API or a webhook. */
export function customerFromWoo(c: WooCustomer): ShopCustomer {
  return {
    input: {
      externalId: `wc-${c.id}`,
      email: c.email || null,
      firstName: c.first_name || null,
      lastName: c.last_name || null,
      acquiredVia: c.is_paying_customer ? 'sale' : 'unknown',
      ...(c.date_created_gmt ? { createdAt: gmt(c.date_created_gmt) } : {}),
    },
    updatedAt: gmt(c.date_modified_gmt),
  };
}

/** An order from the API or a webhook; a guest's order names its customer by billing address. */
export function orderFromWoo(o: WooOrder): ShopOrder {
  const cur = o.currency;
  const total = minor(o.total, cur);
  const refunded = Math.min(
    total,
    (o.refunds ?? []).reduce((s, r) => s + Math.abs(minor(r.total, cur)), 0),
  );
  const email = o.billing?.email;
  const customerId = o.customer_id ? `wc-${o.customer_id}` : `wc-guest:${email ?? o.id}`;
  const cancelled = ['cancelled', 'failed', 'trash'].includes(o.status);
  return {
    input: {
      externalId: `wc-order-${o.id}`,
      customerExternalId: customerId,
      orderedAt: gmt(o.date_created_gmt)!,
      totalMinor: total,
      currency: cur,
      discountMinor: minor(o.discount_total, cur),
      status: cancelled
        ? 'cancelled'
        : o.status === 'refunded' || (refunded > 0 && refunded >= total)
          ? 'returned'
          : 'paid',
      returnedMinor: refunded,
      couponCode: o.coupon_lines?.[0]?.code ?? null,
      items: (o.line_items ?? []).map((li, i) => ({
        sku: li.sku || `wc-${o.id}-${i + 1}`,
        name: li.name,
        quantity: li.quantity,
        unitPriceMinor: minor(li.price, cur),
      })),
    },
    updatedAt: gmt(o.date_modified_gmt),
    customer: {
      input: {
        externalId: customerId,
        ...(email ? { email } : {}),
        ...(o.billing?.first_name ? { firstName: o.billing.first_name } : {}),
        acquiredVia: 'sale',
      },
    },
  };
}

/** Reads and writes one WooCommerce shop. */
export class WooCommerceClient implements ShopClient {
  readonly provider = 'woocommerce' as const;
  throttled = 0;
  readonly pageSize: number;
  private readonly base: string;
  private readonly auth: string;

  constructor(
    private readonly config: ShopConfig,
    options: { pageSize?: number } = {},
  ) {
    this.base = `${(config.apiUrl ?? `https://${config.domain}`).replace(/\/$/, '')}/wp-json/wc/v3`;
    this.auth = `Basic ${Buffer.from(config.accessToken).toString('base64')}`;
    this.pageSize = Math.min(100, options.pageSize ?? 100);
  }

  /** One REST call; waits out 429s (`Retry-After`) and transient failures. */
  async call(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ json: unknown; headers: Headers; status: number }> {
    for (let attempt = 1; ; attempt++) {
      const res = await withRetries(async () => {
        const r = await shopFetch(
          `${this.base}${path}`,
          {
            method,
            headers: { authorization: this.auth, ...(body ? { 'content-type': 'application/json' } : {}) },
            body: body ? JSON.stringify(body) : undefined,
          },
          this.config.timeoutMs,
        );
        if (r.status >= 500) throw new ShopUnreachableError(`${this.config.domain}: HTTP ${r.status}`);
        return r;
      });
      if (res.status === 429) {
        this.throttled++;
        if (attempt > ATTEMPTS * 4)
          throw new ShopUnreachableError(`${this.config.domain}: still rate-limited after ${attempt} attempts`);
        await pause(Number(res.headers.get('retry-after') ?? '1') * 1000);
        continue;
      }
      return { json: await res.json(), headers: res.headers, status: res.status };
    }
  }

  private async list<T>(
    path: string,
    after: string | null,
  ): Promise<{ items: T[]; next: string | null; total?: number }> {
    const page = after ? Number(after) : 1;
    const sep = path.includes('?') ? '&' : '?';
    const r = await this.call('GET', `${path}${sep}per_page=${this.pageSize}&page=${page}&orderby=id&order=asc`);
    if (r.status !== 200)
      throw new ShopApiError(
        `${this.config.domain}: GET ${path}: HTTP ${r.status}: ${JSON.stringify(r.json).slice(0, 300)}`,
      );
    const pages = Number(r.headers.get('x-wp-totalpages') ?? '1');
    const total = r.headers.get('x-wp-total');
    return {
      items: r.json as T[],
      next: page < pages ? String(page + 1) : null,
      ...(total ? { total: Number(total) } : {}),
    };
  }

  async check(): Promise<string> {
    const r = await this.list<WooOrder>('/orders', null);
    return `WooCommerce at ${this.config.domain} (${r.total ?? r.items.length} orders)`;
  }

  async customers(after: string | null): Promise<ShopPage<ShopCustomer>> {
    // The customers endpoint has no modified filter: every customer is read.
    const r = await this.list<WooCustomer>('/customers?role=all', after);
    return { records: r.items.map(customerFromWoo), next: r.next, total: r.total };
  }

  async orders(after: string | null, since?: number): Promise<ShopPage<ShopOrder>> {
    const filter =
      since === undefined
        ? ''
        : `?modified_after=${encodeURIComponent(new Date(since).toISOString())}&dates_are_gmt=true`;
    const r = await this.list<WooOrder>(`/orders${filter}`, after);
    return { records: r.items.map(orderFromWoo), next: r.next, total: r.total };
  }

  /** `POST /coupons` with a usage limit of 1, restricted to the customer's address, expiring. */
  async ensureCoupon(spec: ShopCouponSpec): Promise<string> {
    const found = await this.call('GET', `/coupons?code=${encodeURIComponent(spec.code)}`);
    const existing = (found.json as { id: number }[])[0];
    if (found.status === 200 && existing) return String(existing.id);
    const r = await this.call('POST', '/coupons', {
      code: spec.code,
      discount_type: spec.percent !== null ? 'percent' : 'fixed_cart',
      amount: spec.percent !== null ? String(spec.percent) : ((spec.amountMinor ?? 0) / 100).toFixed(2),
      individual_use: true,
      usage_limit: 1,
      usage_limit_per_user: 1,
      email_restrictions: [spec.email],
      date_expires_gmt: new Date(spec.expiresAt).toISOString().slice(0, 19),
    });
    if (r.status === 201 || r.status === 200) return String((r.json as { id: number }).id);
    if ((r.json as { code?: string }).code === 'woocommerce_rest_coupon_code_already_exists')
      return this.ensureCoupon(spec);
    throw new ShopApiError(
      `${this.config.domain}: coupon ${spec.code} refused: ${JSON.stringify(r.json).slice(0, 300)}`,
    );
  }
}
