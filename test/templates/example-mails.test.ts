/**
 * The example mails read well for the customers they go to: the last-order block with or without
 * line items, and the mails after a cancelled subscription speak of the subscription, not of a
 * long time without orders.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderPreview } from '../../src/cli/commands/preview.js';
import { createEngine } from '../../src/index.js';
import { MemoryTransport } from '../../src/testing.js';
import { ROOT } from '../worker/fixture.js';

describe('the last order in a mail', () => {
  it('without line items shows the order with its total; with items, the items', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-last-order-'));
    const engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: join(ROOT, 'sequences'), templatesDir: join(ROOT, 'templates') },
      { transport: new MemoryTransport() },
    );
    try {
      await engine.customers.upsert({ externalId: 'a', email: 'a@example.com', firstName: 'Ann', locale: 'en' });
      await engine.orders.record({
        externalId: 'o1',
        customerExternalId: 'a',
        orderedAt: Date.UTC(1997, 11, 12),
        totalMinor: 4990,
      });
      const bare = await renderPreview(engine, 'winback-lapsed', 'miss-you', { customer: 'a' });
      expect(bare.text).toMatch(/Your last order \(Dec 12, 1997\): €49\.90/);
      expect(bare.html).toContain('€49.90');

      await engine.customers.upsert({ externalId: 'b', email: 'b@example.com', firstName: 'Ben', locale: 'en' });
      await engine.orders.record({
        externalId: 'o2',
        customerExternalId: 'b',
        orderedAt: Date.UTC(1997, 11, 12),
        totalMinor: 1290,
        items: [{ sku: 'TEA-1', name: 'Sencha', unitPriceMinor: 1290 }],
      });
      const full = await renderPreview(engine, 'winback-lapsed', 'miss-you', { customer: 'b' });
      expect(full.text).toMatch(/Your last order \(Dec 12, 1997\)\s+1 × Sencha/);
      expect(full.text).not.toMatch(/Your last order \(Dec 12, 1997\):/);
    } finally {
      await engine.close();
    }
  });

  it('after a cancelled subscription: ask why and offer it again, in English and German', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-subscription-'));
    const engine = await createEngine(
      { database: join(dir, 'shop.db'), sequencesDir: join(ROOT, 'sequences'), templatesDir: join(ROOT, 'templates') },
      { transport: new MemoryTransport() },
    );
    try {
      await engine.customers.upsert({ externalId: 'a', email: 'a@example.com', firstName: 'Ann', locale: 'en' });
      await engine.orders.record({
        externalId: 'o1',
        customerExternalId: 'a',
        orderedAt: Date.UTC(2026, 0, 5),
        totalMinor: 1990,
      });
      const text = async (step: string, locale: string) =>
        (await renderPreview(engine, 'subscription-cancelled', step, { customer: 'a', locale })).text;
      expect(await text('ask-why', 'en')).toContain('you have cancelled your subscription');
      expect(await text('ask-why', 'en')).toContain('Why did you cancel? One click is enough:');
      expect(await text('ask-why', 'de')).toContain('Warum haben Sie gekündigt?');
      // No churn reason, no click: the default case.
      expect(await text('come-back', 'en')).toContain('your subscription has ended, but it is only a click away');
      expect(await text('come-back', 'de')).toContain('Ihr Abo ist beendet, aber nur einen Klick entfernt');
      for (const step of ['ask-why', 'come-back']) {
        for (const locale of ['en', 'de'])
          expect(await text(step, locale)).not.toMatch(
            /a while|haven't (shopped|ordered)|länger nicht|nicht mehr bei uns/,
          );
      }
    } finally {
      await engine.close();
    }
  });
});
