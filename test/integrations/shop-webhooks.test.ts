import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeShopify } from '../fakes/shopify.js';
import { dialects } from '../helpers/backends.js';
import { seedMessage, startServer, type TestServer } from '../server/helpers.js';

/** Waits until every recorded webhook is applied (polling, generous deadline). */
async function applied(s: TestServer): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const left = await s.engine.ctx.k
      .selectFrom('shop_webhooks')
      .select('id')
      .where('processed_at', 'is', null)
      .execute();
    if (left.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${left.length} webhooks still not applied`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const iso = (t: number) => new Date(t).toISOString();

describe.each(dialects)('Shopify webhooks on the tracking server on $name', ({ url }) => {
  let s: TestServer;
  let shop: FakeShopify;
  let target: string;
  beforeAll(async () => {
    shop = new FakeShopify();
    s = await startServer({
      database: await url(),
      config: {
        shop: {
          type: 'shopify',
          domain: shop.domain,
          accessToken: shop.accessToken,
          webhookSecret: shop.webhookSecret,
        },
      },
    });
    target = `${s.url}/webhooks/shopify`;
  });
  afterAll(() => s.close());
  const at = () => s.clock.now();
  const stored = async () => (await s.engine.ctx.k.selectFrom('shop_webhooks').select('id').execute()).length;

  it('refuses unsigned, wrongly signed, foreign and stale deliveries with 401, a malformed body with 400, storing nothing', async () => {
    const body = { id: 1, email: 'x@example.com' };
    const post = (headers: Record<string, string>, text = JSON.stringify(body)) =>
      fetch(target, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-shopify-topic': 'customers/create',
          'x-shopify-webhook-id': 'w-bad',
          'x-shopify-shop-domain': shop.domain,
          'x-shopify-triggered-at': iso(at()),
          ...headers,
        },
        body: text,
      });
    expect((await post({})).status).toBe(401);
    expect(
      (
        await post({
          'x-shopify-hmac-sha256': createHmac('sha256', 'another-secret').update(JSON.stringify(body)).digest('base64'),
        })
      ).status,
    ).toBe(401);
    expect(await shop.webhook(target, 'customers/create', body, { domain: 'evil.myshopify.com', at: at() })).toEqual([
      401,
    ]);
    expect(await shop.webhook(target, 'customers/create', body, { at: at() - 3 * 86_400_000 })).toEqual([401]);
    expect((await post({ 'x-shopify-hmac-sha256': shop.sign('{"id": 1,') }, '{"id": 1,')).status).toBe(400);
    expect(await stored()).toBe(0);
  });

  it('applies each delivery once despite duplicates and retries, and an older update never overwrites a newer one', async () => {
    const t = at() - 3_600_000;
    const customer = {
      id: 4242,
      email: 'ilse@example.com',
      first_name: 'Ilse',
      last_name: 'Weiß',
      updated_at: iso(t),
      orders_count: 1,
      email_marketing_consent: { state: 'subscribed', opt_in_level: 'confirmed_opt_in', consent_updated_at: iso(t) },
    };
    const order = (total: string, updated: number, cancelled = false) => ({
      id: 777,
      name: '#2001',
      created_at: iso(t),
      updated_at: iso(updated),
      cancelled_at: cancelled ? iso(updated) : null,
      currency: 'EUR',
      total_price: total,
      customer,
      line_items: [{ sku: 'TEA', name: 'Tee', quantity: 1, price: total }],
    });
    for (let i = 0; i < 3; i++)
      expect(await shop.webhook(target, 'customers/create', customer, { id: 'w-c1', at: at() })).toEqual([200]);
    await shop.webhook(target, 'orders/create', order('20.00', t), { id: 'w-o1', at: at() });
    await shop.webhook(target, 'orders/updated', order('25.00', t + 2000, true), { id: 'w-o3', at: at() });
    // Delivered late, after the newer one: it must not undo the cancellation.
    await shop.webhook(target, 'orders/updated', order('22.00', t + 1000), { id: 'w-o2', at: at() });
    await shop.webhook(target, 'orders/updated', order('25.00', t + 2000, true), { id: 'w-o3', at: at() });
    await applied(s);
    expect(await stored()).toBe(4);
    const k = s.engine.ctx.k;
    const o = await k.selectFrom('orders').selectAll().where('external_id', '=', '777').executeTakeFirstOrThrow();
    expect(o).toMatchObject({ total_minor: 2500, status: 'cancelled' });
    const c = (await s.engine.customers.get('4242'))!;
    expect(c.first_name).toBe('Ilse');
    const consents = await k
      .selectFrom('consents')
      .select(['basis', 'source'])
      .where('customer_id', '=', c.id)
      .execute();
    expect(consents).toEqual([{ basis: 'double_opt_in', source: 'shopify' }]);
  });

  it('attributes an order that arrives by webhook once, however often it is delivered', async () => {
    const { customerId, enrollmentId } = await seedMessage(s);
    const ext = await s.engine.ctx.k
      .selectFrom('customers')
      .select(['external_id', 'email'])
      .where('id', '=', customerId)
      .executeTakeFirstOrThrow();
    const order = {
      id: 888,
      name: '#2002',
      created_at: iso(at()),
      updated_at: iso(at()),
      currency: 'EUR',
      total_price: '59.90',
      customer: { id: ext.external_id, email: ext.email },
      line_items: [{ sku: 'TEA', name: 'Tee', quantity: 1, price: '59.90' }],
    };
    for (let i = 0; i < 3; i++) await shop.webhook(target, 'orders/create', order, { id: 'w-conv', at: at() });
    await shop.webhook(target, 'orders/paid', order, { id: 'w-conv-paid', at: at() });
    await applied(s);
    const conversions = await s.engine.ctx.k
      .selectFrom('conversions')
      .select('enrollment_id')
      .where('enrollment_id', '=', enrollmentId)
      .execute();
    expect(conversions).toHaveLength(1);
  });

  it('maps the privacy topics to export and erasure', async () => {
    const t = at() - 60_000;
    await shop.webhook(
      target,
      'customers/create',
      { id: 5151, email: 'zoe@example.com', first_name: 'Zoë', updated_at: iso(t) },
      { at: at() },
    );
    await applied(s);
    await shop.webhook(
      target,
      'customers/data_request',
      { shop_domain: shop.domain, customer: { id: 5151, email: 'zoe@example.com' }, data_request: { id: 1 } },
      { id: 'w-dr', at: at() },
    );
    await applied(s);
    const request = await s.engine.ctx.k
      .selectFrom('shop_webhooks')
      .select(['result', 'error'])
      .where('webhook_id', '=', 'w-dr')
      .executeTakeFirstOrThrow();
    expect(request.error).toBeNull();
    expect(request.result).toContain('zoe@example.com');
    await shop.webhook(
      target,
      'customers/redact',
      { shop_domain: shop.domain, customer: { id: 5151, email: 'zoe@example.com' } },
      { at: at() },
    );
    await applied(s);
    expect((await s.engine.customers.get('5151'))?.email ?? null).toBeNull();
    // A later update from the shop does not bring the erased address back.
    await shop.webhook(
      target,
      'customers/update',
      { id: 5151, email: 'zoe@example.com', first_name: 'Zoë', updated_at: iso(at()) },
      { at: at() },
    );
    await applied(s);
    expect((await s.engine.customers.get('5151'))?.email ?? null).toBeNull();
  });
});
