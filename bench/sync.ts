/**
 * Shop sync benchmark: a backfill of N orders from the local fake Shopify store (test/fakes),
 * GraphQL pages of 50 orders through `runSync` into SQLite, beside a naive client that lists the
 * order ids and then asks for each order on its own (one request per order), recording each.
 * Both keep to the same cost-based throttle; every answer is delayed by --latency-ms like a
 * round trip to Shopify.
 *   npm run bench -- sync [--orders 3000] [--baseline-orders 300] [--latency-ms 20] [--json]
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createEngine } from '../src/app.js';
import { MemoryTransport } from '../src/delivery/memory.js';
import { applyOrders, runSync, ShopifyClient } from '../src/integrations/index.js';
import { orderFromGql, type GqlOrder } from '../src/integrations/shopify/map.js';
import { FakeShopify } from '../test/fakes/shopify.js';
import { report } from './report.js';

const ORDER = `query Order($id: ID!) { order(id: $id) { legacyResourceId name createdAt updatedAt cancelledAt currencyCode
  totalPriceSet { shopMoney { amount } } totalDiscountsSet { shopMoney { amount } } totalRefundedSet { shopMoney { amount } } discountCodes
  customer { legacyResourceId email } lineItems(first: 10) { nodes { sku name quantity originalUnitPriceSet { shopMoney { amount } } } } } }`;
const IDS = `query Ids($first: Int!, $after: String) { orders(first: $first, after: $after) { pageInfo { hasNextPage endCursor } nodes { legacyResourceId } } }`;

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      orders: { type: 'string', default: '3000' },
      'baseline-orders': { type: 'string', default: '300' },
      'latency-ms': { type: 'string', default: '20' },
      json: { type: 'boolean', default: false },
    },
  });
  const orders = Number(values.orders);
  const sample = Number(values['baseline-orders']);
  const customers = Math.max(1, Math.round(orders / 5));
  // 1000 points per second and a bucket of 2000: the throttle is reached, as in a real backfill.
  const shop = await new FakeShopify({
    customers,
    orders,
    latencyMs: Number(values['latency-ms']),
    maximumAvailable: 2000,
    restoreRate: 1000,
  }).start();
  const config = {
    type: 'shopify' as const,
    domain: shop.domain,
    accessToken: shop.accessToken,
    webhookSecret: shop.webhookSecret,
    apiUrl: shop.url,
    apiVersion: '2025-01',
    timeoutMs: 30_000,
  };
  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-sync-'));
  try {
    const engine = await createEngine(
      { database: join(dir, 'sync.db'), sequencesDir: join(dir, 'none') },
      { transport: new MemoryTransport() },
    );
    const client = new ShopifyClient(config);
    const t0 = performance.now();
    const result = await runSync(engine, client);
    const seconds = (performance.now() - t0) / 1000;
    if (result.orders !== orders) throw new Error(`backfill stored ${result.orders} of ${orders} orders`);

    // Naive: the same store into a fresh database, one request per order.
    const naiveEngine = await createEngine(
      { database: join(dir, 'naive.db'), sequencesDir: join(dir, 'none') },
      { transport: new MemoryTransport() },
    );
    const naive = new ShopifyClient(config);
    // The customers come first here too, untimed (a page of them costs the same for both clients).
    await naiveEngine.customers.upsert(shop.customers.map((c) => ({ externalId: String(c.id), email: c.email })));
    let after: string | null = null;
    const ids: string[] = [];
    const started = performance.now();
    while (ids.length < sample) {
      const page: {
        orders: { pageInfo: { hasNextPage: boolean; endCursor: string }; nodes: { legacyResourceId: string }[] };
      } = await naive.query(IDS, { first: 250, after });
      ids.push(...page.orders.nodes.map((n) => n.legacyResourceId));
      if (!page.orders.pageInfo.hasNextPage) break;
      after = page.orders.pageInfo.endCursor;
    }
    for (const id of ids.slice(0, sample)) {
      const { order } = await naive.query<{ order: GqlOrder }>(ORDER, { id: `gid://shopify/Order/${id}` });
      await applyOrders(naiveEngine, 'shopify', [orderFromGql(order)]);
    }
    const baselineSeconds = (performance.now() - started) / 1000;
    await naiveEngine.close();
    await engine.close();
    report(
      {
        name: 'sync_shopify_backfill_sqlite',
        ops_per_s: Math.round(orders / seconds),
        baseline_ops_per_s: Math.round(sample / baselineSeconds),
        orders,
        baseline_orders: sample,
        seconds: Number(seconds.toFixed(1)),
        pages: result.pages,
        throttled: result.throttled,
        baseline_throttled: naive.throttled,
        latency_ms: Number(values['latency-ms']),
      },
      values.json!,
    );
  } finally {
    await shop.close();
  }
}
