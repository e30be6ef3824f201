import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSync, WooCommerceClient } from '../../src/integrations/index.js';
import { FakeWooCommerce } from '../fakes/woocommerce.js';
import { startServer, type TestServer } from '../server/helpers.js';

async function applied(s: TestServer): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (
    (await s.engine.ctx.k.selectFrom('shop_webhooks').select('id').where('processed_at', 'is', null).execute()).length >
    0
  ) {
    if (Date.now() > deadline) throw new Error('webhooks still not applied');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('WooCommerce REST v3 and webhooks against the fake shop', () => {
  let woo: FakeWooCommerce;
  let s: TestServer;
  let client: WooCommerceClient;
  beforeAll(async () => {
    woo = await new FakeWooCommerce({ customers: 60, orders: 450, rateLimitEvery: 4 }).start();
    const shop = {
      type: 'woocommerce' as const,
      domain: woo.domain,
      accessToken: `${woo.consumerKey}:${woo.consumerSecret}`,
      webhookSecret: woo.webhookSecret,
      apiUrl: woo.url,
      apiVersion: '2025-01',
      timeoutMs: 5000,
    };
    s = await startServer({ config: { shop } });
    client = new WooCommerceClient(shop, { pageSize: 100 });
  });
  afterAll(async () => {
    await s.close();
    await woo.close();
  });

  it('syncs every page (X-WP-TotalPages), waits out 429s, and a second run changes nothing', async () => {
    expect(await client.check()).toContain('450 orders');
    const r = await runSync(s.engine, client);
    expect(r).toMatchObject({ customers: 60, orders: 450, rejected: [] });
    expect(woo.rateLimited).toBeGreaterThan(0);
    expect(r.throttled).toBeGreaterThan(0);
    const k = s.engine.ctx.k;
    expect((await k.selectFrom('orders').select('id').execute()).length).toBe(450);
    expect((await k.selectFrom('orders').select('id').where('status', '=', 'cancelled').execute()).length).toBe(
      woo.orders.filter((o) => o.status === 'cancelled').length,
    );
    const again = await runSync(s.engine, client, { since: Date.UTC(2020, 0, 1) });
    expect(again.orders).toBe(0);
    expect(again.stale).toBeGreaterThanOrEqual(450);
  });

  it('creates a single-use coupon restricted to the address, once', async () => {
    const spec = {
      code: 'CB-WOO0001',
      email: 'woo1@example.com',
      customerExternalId: 'wc-1',
      percent: 10,
      amountMinor: null,
      currency: null,
      startsAt: Date.UTC(2026, 5, 1),
      expiresAt: Date.UTC(2026, 5, 15),
    };
    const id = await client.ensureCoupon(spec);
    expect(await client.ensureCoupon(spec)).toBe(id);
    expect(woo.coupons).toHaveLength(1);
    expect(woo.coupons[0]!.body).toMatchObject({
      usage_limit: 1,
      email_restrictions: ['woo1@example.com'],
      discount_type: 'percent',
      amount: '10',
      date_expires_gmt: '2026-06-15T00:00:00',
    });
  });

  it('verifies X-WC-Webhook-Signature, drops duplicates by delivery id, and keeps the newer update', async () => {
    const target = `${s.url}/webhooks/woocommerce`;
    const base = woo.orders[0]!;
    expect(await woo.webhook(target, 'order.updated', base, { signature: 'AAAA' })).toEqual([401]);
    const newer = { ...base, total: '99.00', date_modified_gmt: '2026-05-02T10:00:00' };
    const older = { ...base, total: '50.00', date_modified_gmt: '2026-05-01T10:00:00' };
    for (let i = 0; i < 3; i++) expect(await woo.webhook(target, 'order.updated', newer, { id: 'd-1' })).toEqual([200]);
    await woo.webhook(target, 'order.updated', older, { id: 'd-2' });
    await applied(s);
    const o = await s.engine.ctx.k
      .selectFrom('orders')
      .select('total_minor')
      .where('external_id', '=', `wc-order-${base.id}`)
      .executeTakeFirstOrThrow();
    expect(o.total_minor).toBe(9900);
    expect(
      (await s.engine.ctx.k.selectFrom('shop_webhooks').select('id').where('provider', '=', 'woocommerce').execute())
        .length,
    ).toBe(2);
  });
});
