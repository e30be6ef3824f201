/**
 * The dispatcher against a receiver that misbehaves, on a manual clock: retries with growing
 * delays until the retry period ends (dead letters), a pause after failures in a row, 410 Gone,
 * order per customer, erasure, and URLs that point at this machine.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import {
  emitEvents,
  checkWebhookUrls,
  replay,
  webhookNotices,
  WebhookDispatcher,
  deadLetters,
} from '../../src/webhooks/index.js';
import { createLogger } from '../../src/logger.js';
import { sqliteUrl } from '../helpers/backends.js';
import { drain, Receiver, TEST_SECRET } from './receiver.js';

let engine: Engine | undefined;
let receiver: Receiver | undefined;
afterEach(async () => {
  await engine?.close();
  await receiver?.close();
  engine = receiver = undefined;
});

async function setup(delivery: Record<string, unknown> = {}) {
  receiver = new Receiver();
  await receiver.up();
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
  engine = await createEngine(
    {
      database: sqliteUrl(),
      webhooks: [{ name: 'crm', url: receiver.url, events: ['*'], secret: TEST_SECRET }],
      webhookDelivery: { allowLocal: true, backoffBaseMs: 1000, backoffMaxMs: 3_600_000, ...delivery },
    },
    { clock, transport: new MemoryTransport(), sequences: [], logger: createLogger({ level: 'silent' }) },
  );
  const d = new WebhookDispatcher({ ...engine.ctx, random: () => 1 });
  return { engine, clock, d, k: engine.ctx.k };
}

/** `n` events for customer `customerId` (no customer row needed). */
async function emit(e: Engine, n: number, customerId: number | null = null) {
  await emitEvents(
    e.ctx.k,
    e.ctx.config,
    Array.from({ length: n }, () => ({
      type: 'sequence.paused' as const,
      customerId,
      sequenceId: 's',
      data: { reason: 'x' },
      occurredAt: e.ctx.clock.now(),
    })),
  );
}

describe('webhook delivery faults', () => {
  it('retries with doubling delays for the whole retry period, then lists the event as a dead letter', async () => {
    const { engine, clock, d, k } = await setup({ retryForHours: 24 });
    receiver!.faults.status = 503;
    await emit(engine, 1);
    await d.tick();
    const delays: number[] = [];
    for (let i = 0; i < 40; i++) {
      const row = await k.selectFrom('webhook_deliveries').selectAll().executeTakeFirstOrThrow();
      if (row.status === 'dead') break;
      delays.push(row.next_attempt_at - clock.now());
      clock.set(row.next_attempt_at);
      await d.tick();
    }
    expect(delays.slice(0, 4)).toEqual([1000, 2000, 4000, 8000]);
    expect(Math.max(...delays)).toBe(3_600_000);
    const [dead] = await deadLetters(k);
    expect(dead).toMatchObject({ endpoint: 'crm', type: 'sequence.paused', lastError: 'HTTP 503' });
    expect(clock.now() - Date.UTC(2026, 5, 1, 10)).toBeGreaterThanOrEqual(24 * 3_600_000);
    expect((await webhookNotices(k, engine.ctx.config, clock.now())).join('\n')).toContain('failed for good');
    // Replay: back with a fresh period, delivered once the receiver answers.
    receiver!.faults.status = undefined;
    expect(await replay(k, clock.now())).toBe(1);
    await drain(d);
    expect(receiver!.processed.size).toBe(1);
  });

  it('pauses an endpoint after failures in a row and says so; delivers after the pause', async () => {
    const { engine, clock, d, k } = await setup({ pauseAfterFailures: 3, pauseMs: 60_000, concurrency: 1 });
    receiver!.faults.status = 500;
    await emit(engine, 3);
    for (let i = 0; i < 3; i++) {
      await d.tick();
      clock.advance(1000);
    }
    const notes = await webhookNotices(k, engine.ctx.config, clock.now());
    expect(notes.join('\n')).toMatch(/crm is paused until .*3 failures in a row \(last: HTTP 500\)/);
    const before = receiver!.requests;
    clock.advance(30_000);
    await d.tick();
    expect(receiver!.requests).toBe(before); // paused: nothing sent
    receiver!.faults.status = undefined;
    clock.advance(3_600_000);
    await drain(d);
    expect(receiver!.processed.size).toBe(3);
    expect(await webhookNotices(k, engine.ctx.config, clock.now())).toEqual([]);
  });

  it('stops an endpoint that answers 410 Gone, keeps its events, and resumes on replay', async () => {
    const { engine, clock, d, k } = await setup();
    receiver!.faults.status = 410;
    await emit(engine, 2);
    await d.tick();
    const notes = await webhookNotices(k, engine.ctx.config, clock.now());
    expect(notes.join('\n')).toContain('crm is gone (it answered 410); 2 events wait');
    const before = receiver!.requests;
    clock.advance(3_600_000);
    await d.tick();
    expect(receiver!.requests).toBe(before);
    receiver!.faults.status = undefined;
    await replay(k, clock.now(), { endpoint: 'crm' });
    await drain(d);
    expect(receiver!.processed.size).toBe(2);
  });

  it("delivers a customer's events in order while others go ahead", async () => {
    const { engine, clock, d } = await setup({ concurrency: 8 });
    let draw = 7;
    receiver!.faults = { failRate: 0.5, random: () => (draw = (draw * 48_271) % 2_147_483_647) / 2_147_483_647 };
    for (let round = 0; round < 4; round++) for (const c of [1, 2, 3]) await emit(engine, 1, c);
    for (let i = 0; i < 200 && receiver!.processed.size < 12; i++) {
      await d.tick();
      clock.advance(3_600_000);
    }
    expect(receiver!.processed.size).toBe(12);
    // Per customer: ids arrive increasing (the customer's events are 3 apart).
    const k = engine.ctx.k;
    const rows = await k.selectFrom('webhook_deliveries').select(['event_id', 'customer_id']).execute();
    const customerOf = new Map(rows.map((r) => [`evt_${r.event_id}`, r.customer_id]));
    for (const c of [1, 2, 3]) {
      const seen = receiver!.order.filter((id) => customerOf.get(id) === c).map((id) => Number(id.slice(4)));
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(seen).toHaveLength(4);
    }
  });

  it("erasure deletes the person's events from the outbox and the dead-letter list", async () => {
    const { engine, clock, d, k } = await setup({ retryForHours: 0.001 });
    await engine.customers.upsert([
      { externalId: 'eva', email: 'eva@example.com', locale: 'en' },
      { externalId: 'max', email: 'max@example.com', locale: 'en' },
    ]);
    const eva = (await engine.customers.get('eva'))!.id;
    const max = (await engine.customers.get('max'))!.id;
    receiver!.faults.status = 500;
    await emit(engine, 2, eva);
    await d.tick();
    clock.advance(10_000);
    await d.tick(); // the first is dead now
    await emit(engine, 1, eva); // one still in the outbox
    await emit(engine, 1, max);
    expect((await deadLetters(k)).length).toBe(1);
    const r = await engine.privacy.forget('eva@example.com');
    expect(r.webhookEventsDeleted).toBe(3);
    expect(await k.selectFrom('webhook_outbox').select('customer_id').execute()).toEqual([{ customer_id: max }]);
    expect(await k.selectFrom('webhook_deliveries').select('id').where('customer_id', '=', eva).execute()).toEqual([]);
  });

  it('refuses endpoints on this machine unless allowed (development)', async () => {
    const endpoint = (url: string) => ({ url, events: ['*' as const], secret: [TEST_SECRET] });
    await expect(checkWebhookUrls([endpoint('http://127.0.0.1:9/h')], false)).rejects.toThrow(
      /config\.webhooks\.0\.url: 127\.0\.0\.1 resolves to this machine/,
    );
    await expect(checkWebhookUrls([endpoint('http://localhost:9/h')], false)).rejects.toThrow(
      /resolves to this machine/,
    );
    await expect(checkWebhookUrls([endpoint('http://[::1]:9/h')], false)).rejects.toThrow(/resolves to this machine/);
    await expect(checkWebhookUrls([endpoint('http://127.0.0.1:9/h')], true)).resolves.toBeUndefined();
    await expect(checkWebhookUrls([endpoint('https://192.0.2.10/h')], false)).resolves.toBeUndefined();
  });
});
