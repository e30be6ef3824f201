import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import { sqliteUrl } from '../helpers/backends.js';
import { SmtpSink } from '../delivery/sink.js';
import { FakeShopify } from '../fakes/shopify.js';
import {
  ensureBuilt,
  exited,
  ROOT,
  seedDue,
  sequencesDir,
  spawnWorker,
  statusCounts,
  waitFor,
  writeConfig,
} from '../worker/fixture.js';

const COUPON_SEQUENCE = `id: blast
name: One offer per enrolment
version: 1
audience:
  trigger: test_started
consent: [double_opt_in]
steps:
  - id: offer
    template: winback/offer
    subject: "A voucher for you"
    coupon: { percent: 15, valid: 14d }
`;

describe('coupons created in the shop before their mail goes out', () => {
  let shop: FakeShopify;
  let sink: SmtpSink;
  /** What happened, in order: `d:CODE` when the shop created a code, `m:ID` when the sink took a mail. */
  const log: string[] = [];
  beforeAll(async () => {
    await ensureBuilt();
    shop = await new FakeShopify().start();
    shop.on('discount', (d: { code: string }) => log.push(`d:${d.code}`));
    sink = new SmtpSink({ keepRaw: true, onData: (m) => void log.push(`m:${m.messageId}`) });
    await sink.start();
  }, 120_000);
  afterAll(async () => {
    await shop.close();
    await sink.stop();
  });
  const shopConfig = () => ({
    type: 'shopify' as const,
    domain: shop.domain,
    accessToken: shop.accessToken,
    webhookSecret: shop.webhookSecret,
    apiUrl: shop.url,
    timeoutMs: 2000,
  });

  it('waits while the shop is down, without using up an attempt, and sends once the code exists', async () => {
    const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
    const transport = new MemoryTransport();
    const engine = await createEngine(
      {
        database: sqliteUrl(),
        sequencesDir: sequencesDir(COUPON_SEQUENCE),
        templatesDir: join(ROOT, 'templates'),
        shop: shopConfig(),
      },
      { clock, transport },
    );
    try {
      await seedDue(engine, 1);
      shop.down = true;
      await engine.runDue();
      const waiting = await engine.ctx.k.selectFrom('messages').selectAll().executeTakeFirstOrThrow();
      expect(waiting).toMatchObject({ status: 'reserved', attempts: 0 });
      expect(waiting.error).toMatch(/^shop unreachable/);
      expect(transport.sent).toHaveLength(0);
      shop.down = false;
      clock.advance(engine.ctx.config.worker.unreachablePauseMs + 1);
      await engine.runDue();
      expect(transport.sent).toHaveLength(1);
      const coupon = await engine.ctx.k.selectFrom('coupons').selectAll().executeTakeFirstOrThrow();
      expect(coupon.shop_created_at).not.toBeNull();
      expect(shop.discounts.get(coupon.code)?.input).toMatchObject({
        code: coupon.code,
        usageLimit: 1,
        appliesOncePerCustomer: true,
        customerGets: { value: { percentage: 0.15 } },
      });
      expect(transport.sent[0]!.html).toContain(coupon.code);
    } finally {
      await engine.close();
    }
  }, 60_000);

  it('creates no code twice across a SIGKILL of the worker, and every mail goes out after its code exists', async () => {
    const N = 4;
    shop.discounts.clear();
    log.length = 0;
    const config = {
      database: sqliteUrl(),
      sequencesDir: sequencesDir(COUPON_SEQUENCE),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'smtp', url: sink.url },
      shop: shopConfig(),
      worker: { pollIntervalMs: 100, claimTimeoutMs: 1000, sendingTimeoutMs: 1000, concurrency: 2 },
    };
    const engine: Engine = await createEngine({ ...config, transport: { type: 'memory' } } as never);
    let child: ChildProcess | undefined;
    try {
      await seedDue(engine, N);
      const file = writeConfig(config);
      child = spawnWorker(file);
      // Killed the moment the shop creates the first code: before its answer is stored.
      const first = child;
      shop.once('discount', () => first.kill('SIGKILL'));
      expect(await exited(first)).toBe('SIGKILL');
      child = spawnWorker(file);
      await waitFor(
        async () => ((await statusCounts(engine)).sent ?? 0) + ((await statusCounts(engine)).uncertain ?? 0) === N,
        60_000,
        'every message to end sent',
        100,
      );
      child.kill('SIGTERM');
      await exited(child);
      const coupons = await engine.ctx.k.selectFrom('coupons').select(['code', 'message_id']).execute();
      expect(coupons).toHaveLength(N);
      expect(shop.discounts.size).toBe(N);
      expect(log.filter((e) => e.startsWith('d:'))).toHaveLength(N);
      expect(sink.duplicates()).toEqual([]);
      for (const c of coupons) {
        const mailed = log.indexOf(`m:${c.message_id}`);
        if (mailed < 0) continue; // left uncertain by the kill: never mailed twice
        expect(log.indexOf(`d:${c.code}`)).toBeGreaterThanOrEqual(0);
        expect(log.indexOf(`d:${c.code}`)).toBeLessThan(mailed);
        expect(sink.accepted.find((m) => m.messageId === c.message_id)!.raw.toString('latin1')).toContain(c.code);
      }
    } finally {
      child?.kill('SIGKILL');
      await engine.close();
    }
  }, 120_000);
});
