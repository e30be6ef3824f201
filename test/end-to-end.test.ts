import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, DAY, type Engine } from '../src/index.js';
import { ManualClock, MemoryTransport } from '../src/testing.js';
import { dialects } from './helpers/backends.js';

describe.each(dialects)('end-to-end pipeline on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('enrols a lapsed customer with consent, sends two steps, skips the one without consent, and counts a conversion', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
    const transport = new MemoryTransport();
    engine = await createEngine({ database: await url() }, { clock, transport });
    const t0 = clock.now();
    await engine.customers.upsert([
      { externalId: 'anna', email: 'anna@example.com', firstName: 'Anna', locale: 'en', acquiredVia: 'sale' },
      { externalId: 'bob', email: 'bob@example.com', firstName: 'Bob', locale: 'en', acquiredVia: 'sale' },
    ]);
    await engine.consents.record({
      customer: 'anna',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      evidence: { ip: '192.0.2.1' },
    });
    for (const who of ['anna', 'bob']) {
      for (const [i, daysAgo] of [200, 170, 140].entries()) {
        await engine.orders.record({
          externalId: `${who}-${i}`,
          customerExternalId: who,
          orderedAt: t0 - daysAgo * DAY,
          totalMinor: 4990,
          items: [{ sku: 'TEA-1', name: 'Green tea <premium>', unitPriceMinor: 4990 }],
        });
      }
    }
    const enrolled = await engine.enrollAudience('winback-lapsed');
    expect(enrolled.considered).toBe(2);
    expect(enrolled.skipped.no_consent).toBe(1);
    expect(enrolled.enrolled).toBe(1);

    const first = await engine.runDue();
    // Anna is not in the 10% holdout for this sequence version (a deterministic draw).
    expect(first.reserved).toBe(1);
    expect(transport.sent).toHaveLength(1);
    const mail = transport.sent[0]!;
    expect(mail.to).toBe('anna@example.com');
    expect(mail.subject).toBe('Anna, we miss you');
    expect(mail.html).toContain('Green tea &lt;premium&gt;');
    expect(mail.text).toContain('Green tea <premium>');
    expect(mail.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(mail.html).not.toContain('shop.example.com/new'); // links are tracked, targets kept server-side

    clock.advance(7 * DAY);
    await engine.runDue();
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[1]!.html).toMatch(/CB-[0-9A-F]{10}/);

    clock.advance(DAY);
    const order = await engine.orders.record({
      externalId: 'anna-back',
      customerExternalId: 'anna',
      orderedAt: clock.now(),
      totalMinor: 5990,
    });
    expect(order.conversions).toHaveLength(1);
    const [stats] = await engine.stats('winback-lapsed');
    expect(stats).toMatchObject({ enrolled: 1, sent: 2, converted: 1, revenueMinor: 5990 });
    const customer = await engine.customers.get('anna');
    expect(JSON.parse(customer!.tags)).toContain('returning');
  });
  it('upserts thousands of customers and products in one call (statements split under the parameter limit)', async () => {
    engine = await createEngine(
      { database: await url() },
      { clock: new ManualClock(Date.UTC(2026, 5, 1)), transport: new MemoryTransport() },
    );
    const many = Array.from({ length: 5000 }, (_, i) => ({
      externalId: `bulk-${i}`,
      email: `bulk-${i}@example.com`,
      locale: 'de',
    }));
    const ids = await engine.customers.upsert(many);
    expect(ids.size).toBe(5000);
    expect(new Set(ids.values()).size).toBe(5000);
    expect((await engine.customers.upsert(many)).get('bulk-4999')).toBe(ids.get('bulk-4999')); // idempotent
    await engine.products.upsert(
      Array.from({ length: 5000 }, (_, i) => ({ externalId: `SKU-${i}`, name: `Product ${i}`, priceMinor: 100 + i })),
    );
    const count = await engine.ctx.k
      .selectFrom('products')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(5000);
  });
});
