/**
 * A local WooCommerce shop speaking REST API v3 (woocommerce.github.io/woocommerce-rest-api-docs):
 * - Basic auth with consumer key and secret ("Authentication over HTTPS"); anything else is 401
 *   `woocommerce_rest_cannot_view`.
 * - Lists paged by `page` and `per_page` (at most 100) with `X-WP-Total` and `X-WP-TotalPages`
 *   ("Pagination"); orders filtered by `modified_after` ("List all orders").
 * - A rate limit (WooCommerce's Store API and most hosts answer 429 with `Retry-After`): every
 *   `rateLimitEvery`-th request gets 429.
 * - Coupons: `GET /coupons?code=`, `POST /coupons` (a taken code is 400
 *   `woocommerce_rest_coupon_code_already_exists`) ("Create a coupon").
 * - Webhooks ("Webhooks"): the body signed in `X-WC-Webhook-Signature` (base64 HMAC-SHA256 of the
 *   raw body with the webhook secret), `X-WC-Webhook-Delivery-ID`, `-Topic`, `-Source`; retried
 *   while the answer is not 2xx.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { WooCustomer, WooOrder } from '../../src/integrations/woocommerce/client.js';
import { closeLocal, listenLocal } from './http.js';

export class FakeWooCommerce extends EventEmitter {
  readonly domain = 'shop.example.test';
  readonly consumerKey = 'ck_0123456789abcdef';
  readonly consumerSecret = 'cs_0123456789abcdef';
  readonly webhookSecret = 'woo-webhook-secret-01';
  url = '';
  customers: WooCustomer[] = [];
  orders: WooOrder[] = [];
  coupons: { id: number; code: string; body: Record<string, unknown> }[] = [];
  requests = 0;
  rateLimited = 0;
  private server?: Server;

  constructor(options: { customers?: number; orders?: number; rateLimitEvery?: number } = {}) {
    super();
    this.rateLimitEvery = options.rateLimitEvery ?? 0;
    const t0 = Date.UTC(2025, 0, 1);
    const gmt = (t: number) => new Date(t).toISOString().slice(0, 19);
    for (let i = 1; i <= (options.customers ?? 0); i++) {
      this.customers.push({
        id: i,
        email: `woo${i}@example.com`,
        first_name: ['Søren', 'Chloé', 'Ana'][i % 3]!,
        last_name: 'Beispiel',
        date_created_gmt: gmt(t0 + i),
        date_modified_gmt: gmt(t0 + i),
        is_paying_customer: true,
      });
    }
    for (let n = 1; n <= (options.orders ?? 0); n++) {
      const c = this.customers[(n * 7) % this.customers.length]!;
      const t = t0 + 86_400_000 + n * 60_000;
      this.orders.push({
        id: 100 + n,
        status: n % 40 === 0 ? 'cancelled' : 'completed',
        currency: 'EUR',
        date_created_gmt: gmt(t),
        date_modified_gmt: gmt(t),
        total: `${10 + (n % 30)}.50`,
        discount_total: '0.00',
        customer_id: c.id,
        billing: { email: c.email, first_name: c.first_name },
        line_items: [{ sku: `W-${n % 12}`, name: `Artikel ${n % 12}`, quantity: 1, price: 10 + (n % 30) + 0.5 }],
        coupon_lines: [],
        refunds: [],
      });
    }
  }
  private readonly rateLimitEvery: number;

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenLocal((req, res) => this.handle(req, res)));
    return this;
  }

  close(): Promise<void> {
    return closeLocal(this.server);
  }

  private send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const expected = `Basic ${Buffer.from(`${this.consumerKey}:${this.consumerSecret}`).toString('base64')}`;
    if (req.headers.authorization !== expected)
      return this.send(res, 401, {
        code: 'woocommerce_rest_cannot_view',
        message: 'Sorry, you cannot list resources.',
        data: { status: 401 },
      });
    this.requests++;
    if (this.rateLimitEvery && this.requests % this.rateLimitEvery === 0) {
      this.rateLimited++;
      return this.send(
        res,
        429,
        { code: 'rest_too_many_requests', message: 'Too many requests' },
        { 'retry-after': '0' },
      );
    }
    const url = new URL(req.url ?? '/', this.url);
    const path = url.pathname.replace(/^\/wp-json\/wc\/v3/, '');
    if (req.method === 'GET' && (path === '/orders' || path === '/customers')) {
      const since = url.searchParams.get('modified_after');
      const all = (path === '/orders' ? this.orders : this.customers).filter(
        (r) => !since || `${r.date_modified_gmt}Z` >= since.replace(/\.\d+Z$/, 'Z'),
      );
      const perPage = Math.min(100, Number(url.searchParams.get('per_page') ?? 10));
      const page = Number(url.searchParams.get('page') ?? 1);
      const items = all.slice((page - 1) * perPage, page * perPage);
      this.emit('request', this.requests);
      return this.send(res, 200, items, {
        'x-wp-total': String(all.length),
        'x-wp-totalpages': String(Math.max(1, Math.ceil(all.length / perPage))),
      });
    }
    if (path === '/coupons' && req.method === 'GET')
      return this.send(
        res,
        200,
        this.coupons
          .filter((c) => c.code === (url.searchParams.get('code') ?? '').toLowerCase())
          .map((c) => ({ id: c.id, code: c.code })),
      );
    if (path === '/coupons' && req.method === 'POST') {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      const code = String(body.code).toLowerCase(); // WooCommerce stores codes in lower case
      if (this.coupons.some((c) => c.code === code))
        return this.send(res, 400, {
          code: 'woocommerce_rest_coupon_code_already_exists',
          message: 'The coupon code already exists',
          data: { status: 400 },
        });
      const coupon = { id: 500 + this.coupons.length, code, body };
      this.coupons.push(coupon);
      this.emit('coupon', coupon);
      return this.send(res, 201, { id: coupon.id, code });
    }
    this.send(res, 404, { code: 'rest_no_route', message: 'No route was found matching the URL and request method.' });
  }

  /** Sends a webhook as WooCommerce does; returns the status of each attempt. */
  async webhook(
    target: string,
    topic: string,
    payload: unknown,
    options: { id?: string; retries?: number; signature?: string } = {},
  ): Promise<number[]> {
    const body = JSON.stringify(payload);
    const headers = {
      'content-type': 'application/json',
      'x-wc-webhook-topic': topic,
      'x-wc-webhook-signature':
        options.signature ?? createHmac('sha256', this.webhookSecret).update(body).digest('base64'),
      'x-wc-webhook-delivery-id': options.id ?? String(Math.floor(Math.random() * 1e9)),
      'x-wc-webhook-source': `https://${this.domain}/`,
    };
    const statuses: number[] = [];
    for (let i = 0; i <= (options.retries ?? 0); i++) {
      const res = await fetch(target, { method: 'POST', headers, body });
      await res.arrayBuffer();
      statuses.push(res.status);
      if (res.ok) break;
    }
    return statuses;
  }
}
