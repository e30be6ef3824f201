/**
 * The dashboard's Delivered column with a transport that reports no deliveries (the outbox, SMTP):
 * a dash with the reason instead of a row of zeros; once deliveries are reported, the count.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { dashboardPlugin } from '../../src/dashboard/index.js';
import { createEngine, type Engine } from '../../src/index.js';
import { buildServer } from '../../src/server/index.js';
import { ROOT, seedDue, sequencesDir, statusCounts } from '../worker/fixture.js';

const TOKEN = 'delivered-test-token-0123456789';

describe('the Delivered column', () => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('shows a dash and why for mail sent to the outbox, and the count once deliveries are reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-delivered-'));
    engine = await createEngine({
      database: join(dir, 'shop.db'),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'outbox', dir: join(dir, 'outbox') },
      secret: 'delivered-test-secret-0123456789',
      dashboard: { token: TOKEN },
    });
    const e = engine;
    await seedDue(e, 3);
    await e.runDue();
    expect(await statusCounts(e)).toEqual({ sent: 3 });
    const app = await buildServer({ engine: e, plugins: [dashboardPlugin()] });
    const page = async () =>
      (await app.inject({ url: '/dashboard', headers: { authorization: `Bearer ${TOKEN}` } })).body;
    try {
      const before = await page();
      expect(before).toContain('data-metric="blast.step.hello.sent"');
      expect(before).not.toContain('data-metric="blast.step.hello.delivered"');
      expect(before).toContain('Delivered —: No delivery reports for this sequence: the outbox, and SMTP');

      const m = await e.ctx.k
        .selectFrom('messages')
        .select(['id', 'customer_id', 'enrollment_id'])
        .executeTakeFirstOrThrow();
      await e.ctx.k
        .insertInto('events')
        .values({
          message_id: m.id,
          customer_id: m.customer_id,
          enrollment_id: m.enrollment_id,
          type: 'delivered',
          link_index: null,
          machine_reason: null,
          source: 'sendgrid',
          provider_event_id: 'ev-1',
          user_agent: null,
          occurred_at: e.ctx.clock.now(),
        })
        .execute();
      const after = await page();
      expect(after).toMatch(/data-metric="blast\.step\.hello\.delivered"[^>]*data-value="1"/);
      expect(after).not.toContain('No delivery reports');
    } finally {
      await app.close();
    }
  });
});
