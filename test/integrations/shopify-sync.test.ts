import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { runSync, ShopifyClient } from '../../src/integrations/index.js';
import { FakeShopify } from '../fakes/shopify.js';
import { dialects } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';

const BIN = join(import.meta.dirname, '../../bin/comeback.js');
const CUSTOMERS = 2_000;
const ORDERS = 10_000;

const count = async (e: Engine, table: 'customers' | 'orders' | 'order_items' | 'consents') =>
  Number(
    (
      await e.ctx.k
        .selectFrom(table)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow()
    ).n,
  );

describe('comeback sync shopify against the fake store', () => {
  let shop: FakeShopify;
  beforeAll(async () => {
    // A bucket that refills fast, emptied by "another process" every 25th request: the backfill
    // runs into THROTTLED on any machine, without waiting long.
    shop = await new FakeShopify({
      customers: CUSTOMERS,
      orders: ORDERS,
      maximumAvailable: 1000,
      restoreRate: 4000,
      drainEvery: 25,
    }).start();
  });
  afterAll(() => shop.close());

  it(`backfills ${ORDERS} orders, resumes after a SIGKILL of the process, and ends with exactly the shop's data`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-sync-'));
    const database = join(dir, 'sync.db');
    const config = join(dir, 'comeback.config.yaml');
    writeFileSync(
      config,
      [
        `database: ${database}`,
        'shop:',
        '  type: shopify',
        `  domain: ${shop.domain}`,
        `  apiUrl: ${shop.url}`,
        '  webhookSecret: from-the-environment',
      ].join('\n'),
    );
    const env = { ...process.env, COMEBACK_SHOP_ACCESS_TOKEN: shop.accessToken };

    // The first run is killed for real in the middle of the orders.
    const child = spawn(process.execPath, [BIN, '--config', config, 'sync', 'shopify'], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    const killAt = CUSTOMERS / 50 + 30; // customer pages, then 30 pages of orders
    const onRequest = (n: number) => {
      if (n >= killAt) child.kill('SIGKILL');
    };
    shop.on('request', onRequest);
    const signal = await exited;
    shop.off('request', onRequest);
    expect(signal, stderr).toBe('SIGKILL');
    const requestsBefore = shop.requests;

    const engine = await createEngine({ database }, { transport: new MemoryTransport() });
    try {
      const cursor = await engine.ctx.k
        .selectFrom('shop_sync_state')
        .selectAll()
        .where('resource', '=', 'orders')
        .executeTakeFirstOrThrow();
      expect(cursor.finished_at).toBeNull();
      expect(Number(cursor.records)).toBeGreaterThan(0);
      const client = new ShopifyClient(
        {
          type: 'shopify',
          domain: shop.domain,
          accessToken: shop.accessToken,
          webhookSecret: 'x'.repeat(8),
          apiUrl: shop.url,
          apiVersion: '2025-01',
          timeoutMs: 10_000,
        },
        { pageSize: 50 },
      );
      const result = await runSync(engine, client);
      expect(result.resumed).toBe(true);
      // It went on from the stored cursor: only the orders after it were read again.
      expect(result.pages).toBeLessThan(ORDERS / 50);
      expect(await count(engine, 'customers')).toBe(CUSTOMERS);
      expect(await count(engine, 'orders')).toBe(ORDERS);
      expect(await count(engine, 'order_items')).toBe(shop.orders.reduce((s, o) => s + o.line_items!.length, 0));
      const total = await engine.ctx.k
        .selectFrom('orders')
        .select((eb) => eb.fn.sum<number>('total_minor').as('sum'))
        .executeTakeFirstOrThrow();
      expect(Number(total.sum)).toBe(shop.orders.reduce((s, o) => s + Math.round(Number(o.total_price) * 100), 0));
      // Consent with its level: only CONFIRMED_OPT_IN is double opt-in.
      const subscribed = shop.customers.filter((c) => c.email_marketing_consent!.state === 'subscribed');
      const confirmed = subscribed.filter((c) => c.email_marketing_consent!.opt_in_level === 'confirmed_opt_in').length;
      const grants = await engine.ctx.k
        .selectFrom('consents')
        .select(['basis'])
        .where('action', '=', 'grant')
        .execute();
      expect(grants.filter((g) => g.basis === 'double_opt_in')).toHaveLength(confirmed);
      expect(grants.filter((g) => g.basis === 'opt_in')).toHaveLength(subscribed.length - confirmed);
      expect(shop.throttledAnswers).toBeGreaterThan(0);
      expect(shop.requests).toBeGreaterThan(requestsBefore);

      // A later run reads only what changed since the last one began, and changes nothing.
      const again = await runSync(engine, client);
      expect(again.resumed).toBe(false);
      expect(again.orders + again.stale).toBeLessThan(ORDERS);
      expect(await count(engine, 'orders')).toBe(ORDERS);
    } finally {
      await engine.close();
    }
  }, 240_000);

  it.each(dialects)(
    "reads a large shop's orders by one bulk operation (JSONL, lines after their order) on $name",
    async ({ url }) => {
      const small = await new FakeShopify({ customers: 80, orders: 600, seed: 3 }).start();
      const engine = await createEngine({ database: await url() }, { transport: new MemoryTransport() });
      try {
        const client = new ShopifyClient({
          type: 'shopify',
          domain: small.domain,
          accessToken: small.accessToken,
          webhookSecret: 'x'.repeat(8),
          apiUrl: small.url,
          apiVersion: '2025-01',
          timeoutMs: 10_000,
        });
        const r = await runSync(engine, client, { bulk: true });
        expect(r).toMatchObject({ customers: 80, orders: 600, rejected: [] });
        expect(await count(engine, 'order_items')).toBe(small.orders.reduce((s, o) => s + o.line_items!.length, 0));
        // Two pages of customers, then the bulk run, its polls and the file: far fewer calls than pages of 50.
        expect(small.requests).toBeLessThan(600 / 50);
      } finally {
        await engine.close();
        await small.close();
      }
    },
  );

  it('names a wrong access token, and refuses a sync for another shop type', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-sync-'));
    const config = join(dir, 'comeback.config.yaml');
    writeFileSync(
      config,
      [
        `database: ${join(dir, 'x.db')}`,
        'shop:',
        '  type: shopify',
        `  domain: ${shop.domain}`,
        `  apiUrl: ${shop.url}`,
        '  accessToken: shpat_wrong_token',
        '  webhookSecret: secret-0123',
      ].join('\n'),
    );
    await expect(runCliInProcess(['--config', config, 'sync', 'shopify'])).rejects.toThrow(
      /refused the credentials \(HTTP 401\).*shop.accessToken/,
    );
    await expect(runCliInProcess(['--config', config, 'sync', 'woocommerce'])).rejects.toThrow(
      'the configured shop is shopify, not woocommerce',
    );
  });
});
