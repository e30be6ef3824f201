import type { KyselyPlugin } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { personalization } from '../../src/engine/personalize.js';
import { createEngine, DAY, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { parseSequence } from '../../src/sequences/loader.js';
import { invalidateShopData } from '../../src/templates/shop-data.js';
import { dialects } from '../helpers/backends.js';
import { section, templatesDir } from '../templates/fixtures.js';

const NOW = Date.UTC(2026, 5, 1, 10);

/** Counts the statements a Kysely instance runs. */
function counter(): KyselyPlugin & { n: number } {
  return {
    n: 0,
    transformQuery(args) {
      this.n++;
      return args.node;
    },
    async transformResult(args) {
      return args.result;
    },
  };
}

async function seedShop(engine: Engine): Promise<void> {
  await engine.customers.upsert([
    {
      externalId: 'anna',
      email: 'anna@example.com',
      firstName: 'Anna',
      lastName: 'Müller',
      gender: 'f',
      title: 'Dr.',
      locale: 'de-DE',
      acquiredVia: 'sale',
    },
    {
      externalId: 'bob',
      email: 'bob@example.com',
      firstName: 'Bob',
      locale: 'en',
      acquiredVia: 'sale',
      attributes: { salutation: 'formal' },
    },
    {
      externalId: 'carl',
      email: 'carl@example.com',
      locale: 'de',
      acquiredVia: 'sale',
      attributes: { salutation: 'informal' },
    },
  ]);
  await engine.products.upsert([
    { externalId: 'TEA-1', name: 'Sencha', category: 'Tee', priceMinor: 1290, url: 'https://shop.example.com/p/tea-1' },
    {
      externalId: 'TEA-2',
      name: 'Matcha',
      category: 'Tee',
      priceMinor: 2990,
      url: 'https://shop.example.com/p/tea-2',
      imageUrl: 'https://cdn.example.com/tea-2.jpg',
    },
    { externalId: 'TEA-3', name: 'Oolong (sold out)', category: 'Tee', priceMinor: 1990, inStock: false },
    {
      externalId: 'MUG-1',
      name: 'Teetasse',
      category: 'Zubehör',
      priceMinor: 2490,
      url: 'https://shop.example.com/p/mug-1',
    },
    { externalId: 'HONEY', name: 'Honig', category: 'Feinkost', priceMinor: 790 },
  ]);
  const item = (sku: string, category: string, price: number, quantity = 1) => ({
    sku,
    name: sku,
    category,
    unitPriceMinor: price,
    quantity,
  });
  const order = (
    id: string,
    who: string,
    daysAgo: number,
    items: ReturnType<typeof item>[],
    status: 'paid' | 'cancelled' = 'paid',
  ) =>
    engine.orders.record({
      externalId: id,
      customerExternalId: who,
      orderedAt: NOW - daysAgo * DAY,
      totalMinor: items.reduce((s, i) => s + i.unitPriceMinor * i.quantity, 0),
      items,
      status,
    });
  await order('a1', 'anna', 200, [item('TEA-1', 'Tee', 1290)]);
  await order('a2', 'anna', 100, [item('TEA-1', 'Tee', 1290, 2), item('HONEY', 'Feinkost', 790)]);
  await order('a3', 'anna', 10, [item('TEA-2', 'Tee', 2990)], 'cancelled');
  // Others bought the sencha together with the mug (twice), and the matcha and oolong a lot.
  await order('b1', 'bob', 50, [item('TEA-1', 'Tee', 1290), item('MUG-1', 'Zubehör', 2490)]);
  await order('b2', 'bob', 40, [item('TEA-1', 'Tee', 1290), item('MUG-1', 'Zubehör', 2490)]);
  await order('c1', 'carl', 30, [item('TEA-2', 'Tee', 2990, 5), item('TEA-3', 'Tee', 1990, 9)]);
}

describe.each(dialects)('personalisation from purchase history on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('assembles the data model with few queries per recipient and shared per-shop data', async () => {
    engine = await createEngine(
      { database: await url() },
      { clock: new ManualClock(NOW), transport: new MemoryTransport(), sequences: [] },
    );
    await seedShop(engine);
    const { ctx } = engine;
    invalidateShopData(ctx.k);
    const anna = (await engine.customers.get('anna'))!;
    const plugin = counter();
    const k = ctx.k.withPlugin(plugin);
    const data = await personalization(k, ctx.config, ctx.urls, anna, 42, NOW, {
      coupon: null,
      style: 'formal',
      locale: 'de',
    });

    expect(data).toMatchObject({
      locale: 'de-DE',
      language: 'de',
      salutation: 'Sehr geehrte Frau Dr. Müller',
      orders_count: 2,
      total_spent: 1290 + 2 * 1290 + 790,
      average_order: Math.round((1290 + 2 * 1290 + 790) / 2),
      days_since_last_order: 100,
      first_order_at: NOW - 200 * DAY,
      favorite_categories: ['Tee', 'Feinkost'],
      favorite_category: 'Tee',
      churn_reason: null,
      coupon: null,
      message: { sequence: '', step: '', variant: null, template: '' },
    });
    expect(data.last_order).toEqual({
      number: 'a2',
      ordered_at: NOW - 100 * DAY,
      total: 3370,
      items: [
        {
          sku: 'TEA-1',
          name: 'TEA-1',
          category: 'Tee',
          quantity: 2,
          price: 1290,
          url: 'https://shop.example.com/p/tea-1',
          image_url: null,
        },
        {
          sku: 'HONEY',
          name: 'HONEY',
          category: 'Feinkost',
          quantity: 1,
          price: 790,
          url: 'https://shop.example.com',
          image_url: null,
        },
      ],
    });
    // Bought together with her sencha first, then the bestseller of her favourite category;
    // never what she owns, never what is out of stock.
    expect((data.recommendations as { sku: string; reason: string }[]).map((r) => [r.sku, r.reason])).toEqual([
      ['MUG-1', 'bought_together'],
      ['TEA-2', 'category_bestseller'],
    ]);
    const reasons = data.reasons as { key: string; label: string; url: string }[];
    expect(reasons).toHaveLength(11);
    expect(reasons[4]).toMatchObject({ key: 'price', label: 'Die Preise sind mir zu hoch' });
    expect((data.reason_links as Record<string, string>).price).toBe(reasons[4]!.url);
    expect(reasons[4]!.url).toMatch(/^http:\/\/localhost:8080\/r\//);
    expect(data.unsubscribe_url).toMatch(/^http:\/\/localhost:8080\/u\//);
    expect(data.webview_url).toMatch(/^http:\/\/localhost:8080\/v\//);
    expect(plugin.n).toBe(4); // 1 for the customer + 3 for the shop (catalogue, bestsellers, pairs)

    plugin.n = 0;
    const bob = (await engine.customers.get('bob'))!;
    const again = await personalization(k, ctx.config, ctx.urls, bob, 43, NOW, {
      coupon: null,
      style: 'informal',
      locale: 'en',
    });
    expect(plugin.n).toBe(1); // per-shop data comes from the cache
    expect(again.salutation).toBe('Hello'); // the customer's own "formal" wins; no last name: neutral
    // Anna bought the honey with the sencha; the matcha is the bestseller of bob's favourite category.
    expect((again.recommendations as { sku: string }[]).map((r) => r.sku)).toEqual(['HONEY', 'TEA-2']);

    plugin.n = 0;
    const carl = (await engine.customers.get('carl'))!;
    const lean = await personalization(k, ctx.config, ctx.urls, carl, 44, NOW, {
      coupon: null,
      style: 'formal',
      locale: 'de',
      uses: new Set(['salutation', 'first_name']),
    });
    expect(plugin.n).toBe(1);
    expect(lean).toMatchObject({ salutation: 'Hallo', style: 'informal', recommendations: [], reasons: [] });
  });

  it('fails a message whose template needs a value the customer lacks, with a clear reason, and sends the others', async () => {
    const dir = templatesDir({
      'winback/needs-order.en.mjml': section('{{salutation}}, your last order: {{money last_order.total}}'),
    });
    const yaml = [
      'id: after-cancel',
      'name: After cancellation',
      'audience: { trigger: subscription_cancelled }',
      'consent: [double_opt_in]',
      'steps:',
      '  - id: first',
      '    template: winback/needs-order',
      '    subject: "{{salutation}}, one question"',
    ].join('\n');
    const { sequence } = parseSequence(yaml, 'after-cancel.yaml');
    const transport = new MemoryTransport();
    engine = await createEngine(
      { database: await url(), templatesDir: dir },
      {
        clock: new ManualClock(NOW),
        transport,
        sequences: [{ definition: sequence!, file: 'after-cancel.yaml', hash: 'h1' }],
      },
    );
    await engine.customers.upsert([
      { externalId: 'new', email: 'new@example.com', firstName: 'Nora', locale: 'en' },
      { externalId: 'old', email: 'old@example.com', firstName: 'Olaf', locale: 'en' },
    ]);
    await engine.orders.record({
      externalId: 'o1',
      customerExternalId: 'old',
      orderedAt: NOW - 40 * DAY,
      totalMinor: 4990,
    });
    for (const c of ['new', 'old']) {
      await engine.consents.record({ customer: c, action: 'grant', basis: 'double_opt_in', source: 'test' });
      expect((await engine.trigger('after-cancel', c)).enrollmentId).not.toBeNull();
    }
    await engine.runDue();
    expect(transport.sent.map((m) => m.to)).toEqual(['old@example.com']);
    expect(transport.sent[0]!.subject).toBe('Hi Olaf, one question');
    expect(transport.sent[0]!.html).toContain('€49.90');
    const failed = await engine.ctx.k
      .selectFrom('messages')
      .select(['status', 'error'])
      .where('status', '=', 'failed')
      .execute();
    expect(failed).toEqual([
      {
        status: 'failed',
        error: expect.stringMatching(
          /^template: template winback\/needs-order \(en\): a value is missing for this recipient: "total" not defined in null/,
        ),
      },
    ]);
  });
});
