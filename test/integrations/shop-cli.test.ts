import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkShop } from '../../src/cli/commands/check.js';
import { ShopConfig } from '../../src/config/schema.js';
import { FakeShopify } from '../fakes/shopify.js';
import { runCliInProcess } from '../helpers/cli.js';

describe('shop setup from the command line', () => {
  let shop: FakeShopify;
  beforeAll(async () => {
    shop = await new FakeShopify().start();
  });
  afterAll(() => shop.close());

  it('comeback init --shop shopify writes the shop skeleton, which parses once filled in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-init-'));
    const { out } = await runCliInProcess(['init', dir, '--shop', 'shopify']);
    expect(out).toContain('comeback sync shopify');
    const text = readFileSync(join(dir, 'comeback.config.yaml'), 'utf8');
    expect(text).toContain('#   type: shopify');
    const block = text
      .slice(text.indexOf('# shop:'))
      .split('\n')
      .filter((l) => l.startsWith('#'))
      .map((l) => l.slice(2))
      .join('\n');
    const filled = parse(
      block
        .replace(/shpat_\.\.\..*/, 'shpat_real_token_123')
        .replace(/webhookSecret: \.\.\..*/, 'webhookSecret: client-secret-123'),
    ) as { shop: unknown };
    expect(ShopConfig.parse(filled.shop)).toMatchObject({ type: 'shopify', domain: 'your-store.myshopify.com' });
  });

  it('comeback check reads from the shop with the credentials, and says when none is connected', async () => {
    const config = {
      type: 'shopify' as const,
      domain: shop.domain,
      accessToken: shop.accessToken,
      webhookSecret: shop.webhookSecret,
      apiUrl: shop.url,
      apiVersion: '2025-01',
      timeoutMs: 5000,
    };
    const requests = shop.requests;
    expect(await checkShop(config)).toMatchObject({
      verdict: 'ok',
      detail: expect.stringContaining('Comeback Test Store'),
    });
    expect(shop.requests).toBe(requests + 1);
    expect(shop.discounts.size).toBe(0);
    expect(await checkShop({ ...config, accessToken: 'shpat_wrong_0000' })).toMatchObject({
      verdict: 'FAIL',
      detail: expect.stringContaining('refused the credentials (HTTP 401)'),
    });
    expect(await checkShop(undefined)).toMatchObject({
      verdict: 'warn',
      detail: expect.stringContaining('coupon codes exist in Comeback only'),
    });
  });
});
