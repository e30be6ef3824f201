/**
 * Every state change a webhook reports writes its outbox row in its own transaction, through
 * each door (library, tracking server with its batched writer, provider event, order), and the
 * dispatcher delivers each to a local receiver that verifies it with the standardwebhooks package.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { DAY } from '../../src/clock.js';
import { resolveUncertain } from '../../src/engine/uncertain.js';
import { WEBHOOK_EVENT_TYPES, WebhookDispatcher } from '../../src/webhooks/index.js';
import { dialects } from '../helpers/backends.js';
import { get, seedMessage, startServer, UA, type TestServer } from '../server/helpers.js';
import { drain, Receiver, TEST_SECRET } from './receiver.js';

describe.each(dialects)('webhook events through every door on $name', ({ url }) => {
  let s: TestServer | undefined;
  let receiver: Receiver | undefined;
  afterEach(async () => {
    await s?.close();
    await receiver?.close();
    s = receiver = undefined;
  });

  it('reports enrolment, send, human open and click, conversion, unsubscribe, bounce, complaint and pause, once each', async () => {
    receiver = new Receiver();
    await receiver.up();
    s = await startServer({
      database: await url(),
      config: {
        webhooks: [{ name: 'crm', url: receiver.url, events: ['*'], secret: TEST_SECRET }],
        webhookDelivery: { allowLocal: true },
      },
    });
    const { engine, clock } = s;
    // Library door: enrolment (trigger), then the worker's send.
    const ids = await engine.customers.upsert(
      Array.from({ length: 5 }, (_, i) => ({
        externalId: `shop-${i}`,
        email: `k${i}@example.com`,
        firstName: 'Kim',
        locale: 'en',
        acquiredVia: 'sale',
      })),
    );
    for (const id of ids.values())
      await engine.consents.record({
        customer: id,
        action: 'grant',
        basis: 'double_opt_in',
        source: 'test',
        evidence: {},
      });
    for (const id of ids.values()) await engine.trigger('subscription-cancelled', id);
    clock.advance(DAY + 3_600_000);
    await engine.runDue();
    const sent = await engine.ctx.k.selectFrom('messages').selectAll().where('status', '=', 'sent').execute();
    expect(sent.length).toBeGreaterThan(0);
    const buyer = sent[0]!;
    // Tracking server door (batched writer): a human open and click, and a scanner's click right after sending.
    const m = await seedMessage(s);
    expect(
      (
        await get(s, `/o/${engine.ctx.signer.sign({ purpose: 'open', id: m.messageId })}.gif`, {
          'user-agent': UA.iphoneMail,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await get(s, `/c/${engine.ctx.signer.sign({ purpose: 'click', id: m.messageId, index: 1 })}`, {
          'user-agent': UA.chromeMac,
        })
      ).status,
    ).toBe(307);
    const scanned = await seedMessage(s, { sentAgoMs: 1000 });
    await get(s, `/c/${engine.ctx.signer.sign({ purpose: 'click', id: scanned.messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    await s.flush();
    // Provider-event door: unsubscribe, bounce, complaint.
    const u = await seedMessage(s);
    const b = await seedMessage(s);
    const c = await seedMessage(s);
    await engine.events.record({ messageId: u.messageId, type: 'unsubscribe', source: 'one_click' });
    await engine.events.record({ messageId: b.messageId, type: 'bounce', source: 'sendgrid', providerEventId: 'sg-1' });
    await engine.events.record({ messageId: b.messageId, type: 'bounce', source: 'sendgrid', providerEventId: 'sg-1' }); // a provider's retry
    await engine.events.record({ messageId: c.messageId, type: 'complaint', source: 'arf' });
    // Order door: a conversion; and a pause by hand.
    const customer = await engine.customers.get(buyer.customer_id);
    await engine.orders.record({
      externalId: 'order-back',
      customerExternalId: customer!.external_id,
      orderedAt: clock.now(),
      totalMinor: 4990,
    });
    await engine.pause('winback-lapsed', 'too many complaints');

    const d = new WebhookDispatcher(engine.ctx);
    await drain(d);
    const got = [...receiver.processed.values()];
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.duplicates).toBe(0);
    expect(new Set(got.map((r) => r.type))).toEqual(new Set(WEBHOOK_EVENT_TYPES));
    const count = (type: string) => got.filter((r) => r.type === type).length;
    // Five triggered, and the conversion starts the welcome-back sequence.
    expect(
      got
        .filter((r) => r.type === 'enrollment.created')
        .map((r) => r.body.data.sequence.id)
        .sort(),
    ).toEqual([...Array(5).fill('subscription-cancelled'), 'welcome-back']);
    expect(count('message.sent')).toBe(sent.length);
    expect(count('message.clicked')).toBe(1); // the scanner's click is not reported
    expect(count('message.bounced')).toBe(1); // the provider's retry is not reported twice
    const click = got.find((r) => r.type === 'message.clicked')!.body;
    expect(click).toMatchObject({
      version: 1,
      id: got.find((r) => r.type === 'message.clicked')!.id,
      data: { message: { id: m.messageId, step: 'miss-you' }, link_index: 1, source: 'link' },
    });
    expect(click.data.customer.id).toBe(m.customerId);
    const conversion = got.find((r) => r.type === 'conversion.created')!.body;
    expect(conversion.data).toMatchObject({
      customer: { external_id: customer!.external_id },
      sequence: { id: 'subscription-cancelled', version: 1 },
      order: { external_id: 'order-back', total_minor: 4990 },
    });
    expect(got.find((r) => r.type === 'sequence.paused')!.body.data).toMatchObject({
      sequence: { id: 'winback-lapsed' },
      reason: 'too many complaints',
    });
    expect(await engine.ctx.k.selectFrom('webhook_outbox').select('id').execute()).toEqual([]);
    const states = await engine.ctx.k.selectFrom('webhook_deliveries').select('status').distinct().execute();
    expect(states.map((r) => r.status)).toEqual(['delivered']);
  });
  it("the library's own loop (engine.startWorker) delivers the webhooks beside its passes", async () => {
    receiver = new Receiver();
    await receiver.up();
    s = await startServer({
      database: await url(),
      config: {
        webhooks: [{ name: 'crm', url: receiver.url, events: ['enrollment.created'], secret: TEST_SECRET }],
        webhookDelivery: { allowLocal: true, pollIntervalMs: 20 },
      },
    });
    const { engine } = s;
    const ids = await engine.customers.upsert([
      { externalId: 'lib-1', email: 'lib1@example.com', firstName: 'Kim', locale: 'en', acquiredVia: 'sale' },
    ]);
    for (const id of ids.values())
      await engine.consents.record({
        customer: id,
        action: 'grant',
        basis: 'double_opt_in',
        source: 'test',
        evidence: {},
      });
    for (const id of ids.values()) await engine.trigger('subscription-cancelled', id);
    const worker = engine.startWorker({ intervalMs: 20 });
    try {
      await expect.poll(() => receiver!.processed.size, { timeout: 30_000, interval: 20 }).toBe(1);
    } finally {
      await worker.stop();
    }
    expect([...receiver.processed.values()][0]!.type).toBe('enrollment.created');
  });
  it('an uncertain mail the operator confirms as sent is reported as message.sent, once', async () => {
    receiver = new Receiver();
    await receiver.up();
    s = await startServer({
      database: await url(),
      config: {
        webhooks: [{ name: 'crm', url: receiver.url, events: ['message.sent'], secret: TEST_SECRET }],
        webhookDelivery: { allowLocal: true },
      },
    });
    const m = await seedMessage(s);
    await s.engine.ctx.k.updateTable('messages').set({ status: 'uncertain' }).where('id', '=', m.messageId).execute();
    expect((await resolveUncertain(s.engine.ctx, [m.messageId, m.messageId], 'sent')).resolved).toEqual([m.messageId]);
    expect((await resolveUncertain(s.engine.ctx, [m.messageId], 'sent')).resolved).toEqual([]);
    await drain(new WebhookDispatcher(s.engine.ctx));
    const got = [...receiver.processed.values()];
    expect(got.map((r) => [r.type, r.body.data.message.id])).toEqual([['message.sent', m.messageId]]);
  });
});
