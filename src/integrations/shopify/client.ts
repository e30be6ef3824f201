/**
 * Shopify GraphQL Admin API client (shopify.dev/docs/api/admin-graphql). Pages through connections
 * with cursors (shopify.dev/docs/api/usage/pagination-graphql) and keeps to the cost-based rate
 * limit (shopify.dev/docs/api/usage/rate-limits): a `THROTTLED` error waits until the bucket has
 * refilled enough for the query, from the `throttleStatus` the answer carries.
 */
import type { ShopConfig } from '../../config/schema.js';
import { ShopApiError, ShopUnreachableError } from '../../errors.js';
import { ATTEMPTS, pause, shopFetch, withRetries } from '../http.js';
import type { ShopClient, ShopCouponSpec, ShopCustomer, ShopOrder, ShopPage } from '../types.js';
import { customerFromGql, orderFromGql, type GqlCustomer, type GqlOrder } from './map.js';

const CONSENT = 'emailMarketingConsent { marketingState marketingOptInLevel consentUpdatedAt }';
const CUSTOMER_FIELDS = `legacyResourceId email firstName lastName locale tags createdAt updatedAt numberOfOrders ${CONSENT}`;
const MONEY = '{ shopMoney { amount } }';

const CUSTOMERS = `query Customers($first: Int!, $after: String, $query: String) {
  customers(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ${CUSTOMER_FIELDS} }
  }
}`;

const ORDER_FIELDS = `legacyResourceId name createdAt updatedAt cancelledAt currencyCode
      totalPriceSet ${MONEY} totalDiscountsSet ${MONEY} totalRefundedSet ${MONEY} discountCodes
      customer { ${CUSTOMER_FIELDS} }
      lineItems(first: 10) { nodes { sku name quantity originalUnitPriceSet ${MONEY} } }`;

const ORDERS = `query Orders($first: Int!, $after: String, $query: String) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    pageInfo { hasNextPage endCursor }
    nodes { ${ORDER_FIELDS} }
  }
}`;

// In a bulk query connections take no `first` and nested nodes come as own JSONL lines.
const BULK_ORDER_FIELDS = ORDER_FIELDS.replace(
  `lineItems(first: 10) { nodes { sku name quantity originalUnitPriceSet ${MONEY} } }`,
  `lineItems { edges { node { sku name quantity originalUnitPriceSet ${MONEY} } } }`,
);
const BULK_RUN = `mutation Bulk($query: String!) { bulkOperationRunQuery(query: $query) { bulkOperation { id status } userErrors { field message } } }`;
const BULK_POLL = `query BulkStatus { currentBulkOperation { id status errorCode objectCount url } }`;

const COUPON_BY_CODE = `query CouponByCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }`;
const COUPON_CREATE = `mutation CouponCreate($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) { codeDiscountNode { id } userErrors { field message code } }
}`;

interface Throttle {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

interface GqlAnswer<T> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: { cost?: { requestedQueryCost: number; throttleStatus: Throttle } };
}

/** The time filter of Shopify's search syntax. */
const sinceQuery = (since?: number) => (since === undefined ? null : `updated_at:>='${new Date(since).toISOString()}'`);

/** Reads and writes one Shopify store. */
export class ShopifyClient implements ShopClient {
  readonly provider = 'shopify' as const;
  throttled = 0;
  /** Nodes per page: the most a connection returns within the cost limit. */
  readonly pageSize: number;
  private readonly endpoint: string;

  constructor(
    private readonly config: ShopConfig,
    options: { pageSize?: number } = {},
  ) {
    const base = config.apiUrl ?? `https://${config.domain}`;
    this.endpoint = `${base.replace(/\/$/, '')}/admin/api/${config.apiVersion}/graphql.json`;
    // 50 orders with 10 lines each cost 702 points: within the standard bucket of 1000.
    this.pageSize = options.pageSize ?? 50;
  }

  /** One GraphQL call: waits out throttling and transient failures, throws on errors. */
  async query<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const answer = await withRetries(async () => {
        const res = await shopFetch(
          this.endpoint,
          {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-shopify-access-token': this.config.accessToken },
            body: JSON.stringify({ query, variables }),
          },
          this.config.timeoutMs,
        );
        if (res.status === 429 || res.status >= 500) {
          if (res.status === 429) this.throttled++;
          throw new ShopUnreachableError(`${this.config.domain}: HTTP ${res.status}`);
        }
        if (!res.ok)
          throw new ShopApiError(`${this.config.domain}: HTTP ${res.status}: ${(await res.text()).slice(0, 300)}`);
        return (await res.json()) as GqlAnswer<T>;
      });
      if (answer.errors?.some((e) => e.extensions?.code === 'THROTTLED')) {
        this.throttled++;
        if (attempt > ATTEMPTS * 4)
          throw new ShopUnreachableError(`${this.config.domain}: still throttled after ${attempt} attempts`);
        const cost = answer.extensions?.cost;
        const t = cost?.throttleStatus;
        if (cost && t && cost.requestedQueryCost > t.maximumAvailable)
          throw new ShopApiError(
            `${this.config.domain}: a query costs ${cost.requestedQueryCost} points, more than the store's limit of ${t.maximumAvailable}: use a smaller --page-size`,
          );
        // Wait until the bucket holds the query's cost again (restoreRate points per second).
        await pause(t ? ((cost!.requestedQueryCost - t.currentlyAvailable) / t.restoreRate) * 1000 + 10 : 1000);
        continue;
      }
      if (answer.errors?.length)
        throw new ShopApiError(`${this.config.domain}: ${answer.errors.map((e) => e.message).join('; ')}`);
      return answer.data as T;
    }
  }

  async check(): Promise<string> {
    const data = await this.query<{ shop: { name: string } }>('query Check { shop { name } }');
    return data.shop.name;
  }

  async customers(after: string | null, since?: number): Promise<ShopPage<ShopCustomer>> {
    const data = await this.query<{
      customers: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: GqlCustomer[] };
    }>(CUSTOMERS, { first: this.pageSize, after, query: sinceQuery(since) });
    const c = data.customers;
    return { records: c.nodes.map(customerFromGql), next: c.pageInfo.hasNextPage ? c.pageInfo.endCursor : null };
  }

  async orders(after: string | null, since?: number): Promise<ShopPage<ShopOrder>> {
    const data = await this.query<{
      orders: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: GqlOrder[] };
    }>(ORDERS, { first: this.pageSize, after, query: sinceQuery(since) });
    const o = data.orders;
    return { records: o.nodes.map(orderFromGql), next: o.pageInfo.hasNextPage ? o.pageInfo.endCursor : null };
  }

  /** A single-use code for one customer (shopify.dev/docs/api/admin-graphql/latest/mutations/discountCodeBasicCreate). */
  async ensureCoupon(spec: ShopCouponSpec): Promise<string> {
    const found = await this.query<{ codeDiscountNodeByCode: { id: string } | null }>(COUPON_BY_CODE, {
      code: spec.code,
    });
    if (found.codeDiscountNodeByCode) return found.codeDiscountNodeByCode.id;
    const value =
      spec.percent !== null
        ? { percentage: spec.percent / 100 }
        : { discountAmount: { amount: ((spec.amountMinor ?? 0) / 100).toFixed(2), appliesOnEachItem: false } };
    const data = await this.query<{
      discountCodeBasicCreate: {
        codeDiscountNode: { id: string } | null;
        userErrors: { message: string; code?: string }[];
      };
    }>(COUPON_CREATE, {
      discount: {
        title: `Comeback ${spec.code}`,
        code: spec.code,
        startsAt: new Date(spec.startsAt).toISOString(),
        endsAt: new Date(spec.expiresAt).toISOString(),
        customerSelection: { customers: { add: [`gid://shopify/Customer/${spec.customerExternalId}`] } },
        customerGets: { value, items: { all: true } },
        appliesOncePerCustomer: true,
        usageLimit: 1,
      },
    });
    const r = data.discountCodeBasicCreate;
    if (r.codeDiscountNode) return r.codeDiscountNode.id;
    // Created by an earlier attempt whose answer was lost: the code is there, take its id.
    if (r.userErrors.some((e) => e.code === 'TAKEN')) return this.ensureCoupon(spec);
    throw new ShopApiError(
      `${this.config.domain}: coupon ${spec.code} refused: ${r.userErrors.map((e) => e.message).join('; ')}`,
    );
  }

  /**
   * All orders (changed since `since`) by a bulk operation, for large shops
   * (shopify.dev/docs/api/usage/bulk-operations/queries): the query runs in Shopify, outside the
   * rate limit; its JSONL result holds each order and then its lines (`__parentId`). Yields
   * batches of orders as the file is read.
   */
  async *bulkOrders(since?: number, batch = 250): AsyncGenerator<ShopOrder[]> {
    const filter = since === undefined ? '' : `(query: "updated_at:>='${new Date(since).toISOString()}'")`;
    const inner = `{ orders${filter} { edges { node { ${BULK_ORDER_FIELDS} } } } }`;
    const started = await this.query<{
      bulkOperationRunQuery: { bulkOperation: { id: string } | null; userErrors: { message: string }[] };
    }>(BULK_RUN, { query: inner });
    if (!started.bulkOperationRunQuery.bulkOperation)
      throw new ShopApiError(
        `${this.config.domain}: bulk operation refused: ${started.bulkOperationRunQuery.userErrors.map((e) => e.message).join('; ')}`,
      );
    let url: string | null = null;
    for (let poll = 0; !url; poll++) {
      const { currentBulkOperation: op } = await this.query<{
        currentBulkOperation: { status: string; url: string | null; errorCode?: string | null } | null;
      }>(BULK_POLL);
      if (op?.status === 'COMPLETED') {
        if (!op.url) return; // nothing matched: Shopify gives no file
        url = op.url;
      } else if (!op || ['FAILED', 'CANCELED', 'EXPIRED'].includes(op.status))
        throw new ShopApiError(
          `${this.config.domain}: bulk operation ${op?.status ?? 'lost'}${op?.errorCode ? ` (${op.errorCode})` : ''}`,
        );
      else await pause(Math.min(5000, 200 * 2 ** poll));
    }
    const res = await withRetries(() => shopFetch(url!, {}, this.config.timeoutMs * 10));
    if (!res.ok || !res.body) throw new ShopUnreachableError(`${this.config.domain}: bulk result: HTTP ${res.status}`);
    let orders: GqlOrder[] = [];
    let current: GqlOrder | undefined;
    let rest = '';
    const decoder = new TextDecoder();
    const take = (line: string): ShopOrder[] | undefined => {
      if (!line.trim()) return undefined;
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.__parentId) {
        current?.lineItems?.nodes.push(o as never);
        return undefined;
      }
      current = { ...(o as unknown as GqlOrder), lineItems: { nodes: [] } };
      orders.push(current);
      // The batch is handed over when the next order starts, so an order's lines are complete.
      if (orders.length > batch) {
        const done = orders.slice(0, -1);
        orders = orders.slice(-1);
        return done.map(orderFromGql);
      }
      return undefined;
    };
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
      rest = lines.pop() ?? '';
      for (const line of lines) {
        const ready = take(line);
        if (ready) yield ready;
      }
    }
    take(rest);
    if (orders.length) yield orders.map(orderFromGql);
  }
}
