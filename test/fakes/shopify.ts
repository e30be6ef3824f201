/**
 * A local Shopify store that speaks the documented protocol, small enough to read:
 * - GraphQL Admin API, `POST /admin/api/{version}/graphql.json` with `X-Shopify-Access-Token`
 *   (shopify.dev/docs/api/admin-graphql); a wrong token gets 401 as Shopify answers it.
 * - Cost-based rate limit (shopify.dev/docs/api/usage/rate-limits): a leaky bucket of
 *   `maximumAvailable` points refilled at `restoreRate` per second; a query's requested cost is
 *   taken up front (a connection costs 2 plus its `first` nodes, nested connections multiply),
 *   the unused part refunded; an empty bucket answers `THROTTLED` with `extensions.cost`.
 * - Cursor pagination with `pageInfo { hasNextPage endCursor }`, `sortKey: UPDATED_AT` and the
 *   search filter `updated_at:>='…'` (shopify.dev/docs/api/usage/pagination-graphql,
 *   shopify.dev/docs/api/usage/search-syntax).
 * - Bulk operations (shopify.dev/docs/api/usage/bulk-operations/queries): `bulkOperationRunQuery`,
 *   `currentBulkOperation` and a JSONL file where nested nodes are own lines with `__parentId`.
 * - Discount codes: `discountCodeBasicCreate` (a taken code is a `TAKEN` user error) and
 *   `codeDiscountNodeByCode` (shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate).
 * - Webhooks (shopify.dev/docs/apps/build/webhooks): JSON bodies signed in `X-Shopify-Hmac-Sha256`
 *   (base64 HMAC-SHA256 of the raw body with the app secret), `X-Shopify-Webhook-Id` the same on
 *   every retry, retried while the answer is not 2xx (Shopify: up to 8 times over 4 hours).
 * It understands only the queries Comeback's client sends: it finds the root field by name.
 */
import { createHmac } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { RestCustomer, RestOrder } from '../../src/integrations/shopify/map.js';
import { closeLocal, listenLocal } from './http.js';

export interface FakeShopifyOptions {
  domain?: string;
  accessToken?: string;
  webhookSecret?: string;
  customers?: number;
  orders?: number;
  /** Bucket size and refill per second (Shopify's standard plan: 1000 and 50... here tests speed it up). */
  maximumAvailable?: number;
  restoreRate?: number;
  seed?: number;
  /** Added to every answer, like the round trip to Shopify over the internet (default 0). */
  latencyMs?: number;
  /**
   * Empties the bucket before every n-th request, as another process of the same app sharing the
   * store's bucket would: a THROTTLED answer however fast or slow the machine is.
   */
  drainEvery?: number;
}

export interface FakeDiscount {
  id: string;
  code: string;
  input: Record<string, unknown>;
  createdAt: number;
}

const money = (minor: number) => (minor / 100).toFixed(2);
const iso = (t: number) => new Date(t).toISOString();
const cursorOf = (u: string, id: number | string) => Buffer.from(JSON.stringify([u, Number(id)])).toString('base64url');

export class FakeShopify extends EventEmitter {
  readonly domain: string;
  readonly accessToken: string;
  readonly webhookSecret: string;
  url = '';
  customers: RestCustomer[] = [];
  orders: RestOrder[] = [];
  discounts = new Map<string, FakeDiscount>();
  /** Answers with THROTTLED so far. */
  throttledAnswers = 0;
  /** GraphQL requests served. */
  requests = 0;
  /** While true every request gets 503 (the shop is down). */
  down = false;
  private bucket: number;
  private bucketAt = performance.now();
  private readonly max: number;
  private readonly restore: number;
  private readonly latencyMs: number;
  private readonly drainEvery: number;
  private server?: Server;
  private bulk?: { id: string; status: string; lines: string[]; objectCount: number };

  constructor(options: FakeShopifyOptions = {}) {
    super();
    this.domain = options.domain ?? 'comeback-test.myshopify.com';
    this.accessToken = options.accessToken ?? 'shpat_test_0123456789';
    this.webhookSecret = options.webhookSecret ?? 'shopify-app-secret-0123';
    this.max = options.maximumAvailable ?? 1000;
    this.restore = options.restoreRate ?? 50;
    this.bucket = this.max;
    this.latencyMs = options.latencyMs ?? 0;
    this.drainEvery = options.drainEvery ?? 0;
    this.seed(options.customers ?? 0, options.orders ?? 0, options.seed ?? 1);
  }

  /** Seeded customers and orders: heavy-tailed (a few customers buy often), 1–4 lines each. */
  seed(customers: number, orders: number, seed: number): void {
    let s = seed;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const t0 = Date.UTC(2025, 0, 1);
    const levels = ['CONFIRMED_OPT_IN', 'SINGLE_OPT_IN', 'UNKNOWN'];
    for (let i = 0; i < customers; i++) {
      const state = rnd() < 0.6 ? 'SUBSCRIBED' : rnd() < 0.5 ? 'NOT_SUBSCRIBED' : 'UNSUBSCRIBED';
      this.customers.push({
        id: 9_000_000_000 + i,
        email: `kunde${i}@example.com`,
        first_name: ['Jürgen', 'Zoë', 'Anna', 'Ömer'][i % 4]!,
        last_name: 'Test',
        created_at: iso(t0 + i * 1000),
        updated_at: iso(t0 + i * 1000),
        orders_count: 0,
        email_marketing_consent: {
          state: state.toLowerCase(),
          opt_in_level: levels[i % 3]!.toLowerCase(),
          consent_updated_at: iso(t0 + i * 1000),
        },
      });
    }
    for (let n = 0; n < orders; n++) {
      const c = this.customers[Math.min(customers - 1, Math.floor(customers * rnd() ** 2))]!;
      c.orders_count = (c.orders_count ?? 0) + 1;
      const lines = 1 + Math.floor(rnd() * 4);
      const items = Array.from({ length: lines }, (_, j) => ({
        sku: `SKU-${(n + j) % 40}`,
        name: `Tee ${(n + j) % 40}`,
        quantity: 1 + (j % 2),
        price: money(500 + ((n * 7 + j * 13) % 40) * 100),
      }));
      const total = items.reduce((sum, li) => sum + Math.round(Number(li.price) * 100) * li.quantity, 0);
      const at = t0 + 86_400_000 + n * 60_000;
      this.orders.push({
        id: 6_000_000_000 + n,
        name: `#${1001 + n}`,
        email: c.email,
        created_at: iso(at),
        updated_at: iso(at),
        cancelled_at: null,
        currency: 'EUR',
        total_price: money(total),
        total_discounts: '0.00',
        discount_codes: [],
        customer: {
          id: c.id,
          email: c.email,
          first_name: c.first_name,
          last_name: c.last_name,
          updated_at: c.updated_at,
        },
        line_items: items,
        refunds: [],
      });
    }
  }

  async start(): Promise<this> {
    ({ server: this.server, url: this.url } = await listenLocal((req, res) => this.handle(req, res)));
    return this;
  }

  close(): Promise<void> {
    return closeLocal(this.server);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (this.down) return void res.writeHead(503).end('Service Unavailable');
    if (req.method === 'GET' && req.url?.startsWith('/bulk/')) {
      res.writeHead(200, { 'content-type': 'application/jsonl' });
      return void res.end(this.bulk ? this.bulk.lines.join('\n') + '\n' : '');
    }
    if (!/^\/admin\/api\/\d{4}-\d{2}\/graphql\.json$/.test(req.url ?? '') || req.method !== 'POST')
      return void res.writeHead(404).end('Not Found');
    if (req.headers['x-shopify-access-token'] !== this.accessToken) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return void res.end(
        JSON.stringify({ errors: '[API] Invalid API key or access token (unrecognized login or wrong password)' }),
      );
    }
    this.requests++;
    if (this.latencyMs) await new Promise((r) => setTimeout(r, this.latencyMs));
    const { query, variables = {} } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      query: string;
      variables?: Record<string, unknown>;
    };
    const requested = this.requestedCost(query, variables);
    this.refill();
    if (this.drainEvery && this.requests % this.drainEvery === 0) this.bucket = 0;
    const throttleStatus = () => ({
      maximumAvailable: this.max,
      currentlyAvailable: Math.floor(this.bucket),
      restoreRate: this.restore,
    });
    if (requested > this.max) {
      return this.json(res, {
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${this.max}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: this.max },
          },
        ],
      });
    }
    if (requested > this.bucket) {
      this.throttledAnswers++;
      this.emit('throttled');
      return this.json(res, {
        errors: [
          {
            message: 'Throttled',
            extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' },
          },
        ],
        extensions: {
          cost: { requestedQueryCost: requested, actualQueryCost: null, throttleStatus: throttleStatus() },
        },
      });
    }
    this.bucket -= requested;
    const { data, actual } = this.resolve(query, variables);
    this.bucket = Math.min(this.max, this.bucket + Math.max(0, requested - actual));
    this.json(res, {
      data,
      extensions: {
        cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: throttleStatus() },
      },
    });
    this.emit('request', this.requests);
  }

  private json(res: ServerResponse, body: unknown): void {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private refill(): void {
    const now = performance.now();
    this.bucket = Math.min(this.max, this.bucket + ((now - this.bucketAt) / 1000) * this.restore);
    this.bucketAt = now;
  }

  /** A connection costs 2 plus `first` times its node's cost; scalar objects cost 1. */
  private requestedCost(query: string, variables: Record<string, unknown>): number {
    if (/mutation/.test(query)) return 10;
    const first = Number(variables.first ?? 1);
    const nested = /lineItems\(first: (\d+)\)/.exec(query);
    const node = 1 + (/customer \{/.test(query) ? 1 : 0) + (nested ? 2 + Number(nested[1]) : 0);
    if (/\border\(id:/.test(query)) return node;
    return /(orders|customers)\(/.test(query) ? 2 + first * node : 1;
  }

  private resolve(query: string, v: Record<string, unknown>): { data: unknown; actual: number } {
    if (query.includes('codeDiscountNodeByCode')) {
      const d = this.discounts.get(String(v.code).toUpperCase());
      return { data: { codeDiscountNodeByCode: d ? { id: d.id } : null }, actual: 1 };
    }
    if (query.includes('discountCodeBasicCreate')) {
      const input = v.discount as Record<string, unknown>;
      const code = String(input.code).toUpperCase();
      if (this.discounts.has(code))
        return {
          data: {
            discountCodeBasicCreate: {
              codeDiscountNode: null,
              userErrors: [
                {
                  field: ['basicCodeDiscount', 'code'],
                  message: 'Code must be unique. Please try a different code.',
                  code: 'TAKEN',
                },
              ],
            },
          },
          actual: 10,
        };
      const d = {
        id: `gid://shopify/DiscountCodeNode/${100 + this.discounts.size}`,
        code,
        input,
        createdAt: Date.now(),
      };
      this.discounts.set(code, d);
      this.emit('discount', d);
      return { data: { discountCodeBasicCreate: { codeDiscountNode: { id: d.id }, userErrors: [] } }, actual: 10 };
    }
    if (query.includes('bulkOperationRunQuery')) {
      const lines: string[] = [];
      for (const o of this.orders) {
        const gid = `gid://shopify/Order/${o.id}`;
        const { lineItems: _l, ...node } = this.gqlOrder(o);
        lines.push(JSON.stringify({ id: gid, ...node }));
        for (const li of this.gqlOrder(o).lineItems.nodes) lines.push(JSON.stringify({ ...li, __parentId: gid }));
      }
      this.bulk = {
        id: `gid://shopify/BulkOperation/${Date.now()}`,
        status: 'RUNNING',
        lines,
        objectCount: lines.length,
      };
      return {
        data: { bulkOperationRunQuery: { bulkOperation: { id: this.bulk.id, status: 'CREATED' }, userErrors: [] } },
        actual: 10,
      };
    }
    if (query.includes('currentBulkOperation')) {
      const b = this.bulk;
      if (b && b.status === 'RUNNING') b.status = 'COMPLETED'; // finished by the next poll
      return {
        data: {
          currentBulkOperation: b
            ? {
                id: b.id,
                status: b.status,
                objectCount: String(b.objectCount),
                url: b.status === 'COMPLETED' ? `${this.url}/bulk/${encodeURIComponent(b.id)}.jsonl` : null,
              }
            : null,
        },
        actual: 1,
      };
    }
    if (/\border\(id:/.test(query)) {
      const o = this.orders.find((x) => `gid://shopify/Order/${x.id}` === v.id);
      return { data: { order: o ? this.gqlOrder(o) : null }, actual: o ? 4 + (o.line_items?.length ?? 0) : 1 };
    }
    if (/customers\(/.test(query)) return this.page('customers', this.customers, v, (c) => this.gqlCustomer(c));
    if (/orders\(/.test(query)) return this.page('orders', this.orders, v, (o) => this.gqlOrder(o));
    if (/shop \{/.test(query)) return { data: { shop: { name: 'Comeback Test Store' } }, actual: 1 };
    throw new Error(`the fake does not know this query: ${query.slice(0, 80)}`);
  }

  private page<T extends { id: number | string; updated_at?: string }>(
    key: string,
    all: T[],
    v: Record<string, unknown>,
    shape: (t: T) => unknown,
  ): { data: unknown; actual: number } {
    const since = /updated_at:>='([^']+)'/.exec(String(v.query ?? ''))?.[1];
    const sorted = all
      .filter((r) => !since || r.updated_at! >= new Date(since).toISOString())
      .sort((a, b) =>
        a.updated_at! < b.updated_at! ? -1 : a.updated_at! > b.updated_at! ? 1 : Number(a.id) - Number(b.id),
      );
    let start = 0;
    if (v.after) {
      const [u, id] = JSON.parse(Buffer.from(String(v.after), 'base64url').toString()) as [string, number];
      start = sorted.findIndex((r) => r.updated_at! > u || (r.updated_at === u && Number(r.id) > id));
      if (start < 0) start = sorted.length;
    }
    const first = Number(v.first ?? 50);
    const nodes = sorted.slice(start, start + first);
    const last = nodes.at(-1);
    const actual = 2 + nodes.reduce((s, n) => s + 2 + ((n as unknown as RestOrder).line_items?.length ?? 0), 0);
    return {
      data: {
        [key]: {
          pageInfo: {
            hasNextPage: start + first < sorted.length,
            endCursor: last ? cursorOf(last.updated_at!, last.id) : null,
          },
          nodes: nodes.map(shape),
        },
      },
      actual,
    };
  }

  private gqlCustomer(c: RestCustomer) {
    const m = c.email_marketing_consent;
    return {
      legacyResourceId: String(c.id),
      email: c.email,
      firstName: c.first_name,
      lastName: c.last_name,
      locale: 'de',
      tags: [],
      createdAt: c.created_at,
      updatedAt: c.updated_at,
      numberOfOrders: String(c.orders_count ?? 0),
      emailMarketingConsent: m
        ? {
            marketingState: m.state.toUpperCase(),
            marketingOptInLevel: m.opt_in_level?.toUpperCase() ?? null,
            consentUpdatedAt: m.consent_updated_at ?? null,
          }
        : null,
    };
  }

  private gqlOrder(o: RestOrder) {
    const refunded = (o.refunds ?? []).flatMap((r) => r.transactions ?? []).reduce((s, t) => s + Number(t.amount), 0);
    const customer = o.customer ? this.customers.find((c) => String(c.id) === String(o.customer!.id)) : undefined;
    return {
      legacyResourceId: String(o.id),
      name: o.name,
      createdAt: o.created_at,
      updatedAt: o.updated_at,
      cancelledAt: o.cancelled_at ?? null,
      currencyCode: o.currency,
      totalPriceSet: { shopMoney: { amount: o.total_price } },
      totalDiscountsSet: { shopMoney: { amount: o.total_discounts ?? '0.00' } },
      totalRefundedSet: { shopMoney: { amount: refunded.toFixed(2) } },
      discountCodes: (o.discount_codes ?? []).map((d) => d.code),
      customer: customer ? this.gqlCustomer(customer) : null,
      lineItems: {
        nodes: (o.line_items ?? []).map((li) => ({
          sku: li.sku,
          name: li.name,
          quantity: li.quantity,
          originalUnitPriceSet: { shopMoney: { amount: li.price } },
        })),
      },
    };
  }

  /** The signature Shopify puts in `X-Shopify-Hmac-Sha256`. */
  sign(body: string): string {
    return createHmac('sha256', this.webhookSecret).update(body, 'utf8').digest('base64');
  }

  /**
   * Sends a webhook as Shopify does, retrying while the answer is not 2xx (at most `retries`
   * more times). Returns the status of every attempt.
   */
  async webhook(
    target: string,
    topic: string,
    payload: unknown,
    options: { id?: string; retries?: number; signature?: string; domain?: string; at?: number } = {},
  ): Promise<number[]> {
    const body = JSON.stringify(payload);
    const headers = {
      'content-type': 'application/json',
      'x-shopify-topic': topic,
      'x-shopify-hmac-sha256': options.signature ?? this.sign(body),
      'x-shopify-shop-domain': options.domain ?? this.domain,
      'x-shopify-webhook-id': options.id ?? `wh-${Math.random().toString(36).slice(2)}`,
      'x-shopify-api-version': '2025-01',
      'x-shopify-triggered-at': new Date(options.at ?? Date.now()).toISOString(),
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
