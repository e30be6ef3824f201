import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { importShopifyExport } from '../../src/integrations/shopify/export.js';
import { detectLayout } from '../../src/shop/import/layouts.js';
import { dialects } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';

const FIXTURES = join(import.meta.dirname, '../fixtures/shopify');
const CUSTOMERS = join(FIXTURES, 'customers_export.csv');
const ORDERS = join(FIXTURES, 'orders_export.csv');
/** The truth the seeded generator wrote beside the files (generate.mjs). */
const truth = JSON.parse(readFileSync(join(FIXTURES, 'expected.json'), 'utf8')) as Record<string, number> & {
  mailedCustomer: { id: string; orderId: string };
};

const count = async (e: Engine, table: 'customers' | 'orders' | 'consents' | 'order_items') =>
  Number(
    (
      await e.ctx.k
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('Shopify export layouts', () => {
  it('are recognised by their header line, and an unknown layout names the known ones', async () => {
    expect(detectLayout(CUSTOMERS)).toBe('shopify-customers');
    expect(detectLayout(ORDERS)).toBe('shopify-orders');
    const dir = mkdtempSync(join(tmpdir(), 'comeback-layout-'));
    const odd = join(dir, 'odd.csv');
    writeFileSync(odd, 'Handle,Title,Body (HTML)\nx,y,z\n');
    expect(detectLayout(odd)).toBe('comeback');
    const db = join(dir, 'cli.db');
    const r = await runCliInProcess(['--db', db, 'import', 'customers', odd]).catch((err: Error) => ({
      out: '',
      err: err.message,
    }));
    expect(r.err).toContain('Known layouts: comeback, shopify-customers, shopify-orders');
    const wrongKind = await runCliInProcess(['--db', db, 'import', 'customers', ORDERS]).catch((err: Error) => ({
      out: '',
      err: err.message,
    }));
    expect(wrongKind.err).toContain('is a shopify-orders export, not customers');
  });
});

describe.each(dialects)('Shopify export import on $name', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it("stores exactly what the files hold with zero mapping, and attributes the mailed customer's return", async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
    const e = (engine = await createEngine({ database: await url() }, { clock, transport: new MemoryTransport() }));
    const c = await importShopifyExport(e, 'shopify-customers', CUSTOMERS);
    expect(c).toMatchObject({ customers: truth.customers, consents: truth.consents, rejected: [] });
    expect(await count(e, 'customers')).toBe(truth.customers);
    const optIn = await e.ctx.k
      .selectFrom('consents')
      .select(['basis', 'evidence'])
      .where('source', '=', 'shopify')
      .execute();
    expect(optIn).toHaveLength(truth.consents);
    // A plain "yes" in an export is an opt-in, never double opt-in; the evidence names the file.
    expect(new Set(optIn.map((r) => r.basis))).toEqual(new Set(['opt_in']));
    expect(JSON.parse(optIn[0]!.evidence)).toMatchObject({
      source: 'Shopify export',
      file: 'customers_export.csv',
      column: 'Accepts Email Marketing',
    });
    const names = await e.ctx.k
      .selectFrom('customers')
      .select('first_name')
      .where('first_name', 'in', ['Jürgen', 'Łukasz', 'Zoë'])
      .execute();
    expect(names.length).toBeGreaterThan(0);

    // The mailed customer: enrolled and mailed on 15 May, buys on 20 May (in the export).
    const customer = (await e.customers.get(truth.mailedCustomer.id))!;
    const enrolledAt = Date.UTC(2026, 4, 15);
    const enrollment = await e.ctx.k
      .insertInto('enrollments')
      .values({
        customer_id: customer.id,
        sequence_id: 'subscription-cancelled',
        sequence_version: e.ctx.sequences.get('subscription-cancelled').version,
        status: 'active',
        enrolled_at: enrolledAt,
        next_due_at: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();

    const o = await importShopifyExport(e, 'shopify-orders', ORDERS);
    expect(o).toMatchObject({
      orders: truth.orders,
      lineItems: truth.lineItems,
      refunds: truth.refunds,
      cancelled: truth.cancelled,
      consents: truth.marketingYesOrders,
      conversions: 1,
    });
    // The one order in a second currency is refused with a clear reason, naming its line.
    expect(o.rejected).toEqual([
      { line: expect.any(Number), reason: expect.stringMatching(/currency: "USD" is not the shop's currency EUR/) },
    ]);
    expect(await count(e, 'orders')).toBe(truth.orders);
    expect(await count(e, 'order_items')).toBe(truth.lineItems);
    const k = e.ctx.k;
    const returned = await k.selectFrom('orders').select('id').where('returned_minor', '>', 0).execute();
    expect(returned).toHaveLength(truth.refunds);
    expect(await k.selectFrom('orders').select('id').where('status', '=', 'cancelled').execute()).toHaveLength(
      truth.cancelled,
    );
    const conversion = await k
      .selectFrom('conversions')
      .innerJoin('orders', 'orders.id', 'conversions.order_id')
      .select(['conversions.enrollment_id', 'orders.external_id'])
      .execute();
    expect(conversion).toEqual([{ enrollment_id: enrollment.id, external_id: truth.mailedCustomer.orderId }]);

    // Again: nothing twice.
    const again = await importShopifyExport(e, 'shopify-orders', ORDERS);
    expect(again.conversions).toBe(0);
    expect(again.consents).toBe(0);
    expect(await count(e, 'orders')).toBe(truth.orders);
    expect(await count(e, 'order_items')).toBe(truth.lineItems);
    expect((await importShopifyExport(e, 'shopify-customers', CUSTOMERS)).consents).toBe(0);
  });
});
