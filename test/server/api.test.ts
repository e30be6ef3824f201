import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { senderHeader } from '../../src/delivery/headers.js';
import { messageIdOf } from '../../src/delivery/mime.js';
import { hashEmail } from '../../src/util/email.js';
import { API_KEY, seedMessage, startServer, type TestServer } from './helpers.js';

function call(s: TestServer, path: string, body: unknown, key: string | null = API_KEY): Promise<Response> {
  return fetch(`${s.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

describe('orders and trigger API over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  async function customerOf(customerId: number): Promise<string> {
    const c = await s.engine.ctx.k
      .selectFrom('customers')
      .select('external_id')
      .where('id', '=', customerId)
      .executeTakeFirstOrThrow();
    return c.external_id;
  }

  it('refuses requests without the right bearer key', async () => {
    const order = { externalId: 'o-auth', customerExternalId: 'x', orderedAt: s.clock.now(), totalMinor: 100 };
    for (const key of [null, 'wrong-key-0123456789', `${API_KEY}x`]) {
      const res = await call(s, '/api/orders', order, key);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toContain('Bearer');
    }
    expect((await call(s, '/api/trigger', { sequence: 'winback-lapsed', customer: 'x' }, null)).status).toBe(401);
    expect(await s.engine.ctx.k.selectFrom('orders').select('id').execute()).toHaveLength(0);
  });

  it('names every wrong field of an invalid order', async () => {
    const res = await call(s, '/api/orders', {
      externalId: '',
      customerExternalId: 'c',
      orderedAt: 'yesterday',
      totalMinor: -5,
      colour: 'red',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { issues: string[] };
    const text = body.issues.join('\n');
    for (const field of ['externalId', 'orderedAt', 'totalMinor', 'colour']) expect(text).toContain(field);
    expect((await call(s, '/api/orders', '{not json')).status).toBe(400);
  });

  it('records an order once by its id and attributes the conversion once', async () => {
    const { customerId, enrollmentId } = await seedMessage(s);
    const order = {
      externalId: 'o-1001',
      customerExternalId: await customerOf(customerId),
      orderedAt: s.clock.now(),
      totalMinor: 5990,
      items: [{ sku: 'TEA-1', name: 'Green tea', unitPriceMinor: 5990 }],
    };
    const first = await call(s, '/api/orders', order);
    expect(first.status).toBe(201);
    const created = (await first.json()) as {
      id: number;
      created: boolean;
      conversions: { enrollmentId: number; attributedBy: string }[];
    };
    expect(created.created).toBe(true);
    expect(created.conversions).toEqual([expect.objectContaining({ enrollmentId, attributedBy: 'goal_window' })]);
    const again = await call(s, '/api/orders', order);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ id: created.id, created: false, conversions: [] });
    const k = s.engine.ctx.k;
    expect(await k.selectFrom('orders').select('id').where('external_id', '=', 'o-1001').execute()).toHaveLength(1);
    expect(
      await k.selectFrom('conversions').select('id').where('enrollment_id', '=', enrollmentId).execute(),
    ).toHaveLength(1);
    expect(
      (await k.selectFrom('enrollments').select('status').where('id', '=', enrollmentId).executeTakeFirstOrThrow())
        .status,
    ).toBe('converted');
  });

  it('matches a personal coupon code to its enrolment', async () => {
    const { customerId, enrollmentId, messageId } = await seedMessage(s);
    const k = s.engine.ctx.k;
    await k
      .insertInto('coupons')
      .values({
        code: 'CB-API0000001',
        customer_id: customerId,
        enrollment_id: enrollmentId,
        message_id: messageId,
        percent: 10,
        amount_minor: null,
        currency: null,
        expires_at: s.clock.now() + 86_400_000,
        created_at: s.clock.now(),
      })
      .execute();
    const res = await call(s, '/api/orders', {
      externalId: 'o-coupon',
      customerExternalId: await customerOf(customerId),
      orderedAt: s.clock.now(),
      totalMinor: 4500,
      discountMinor: 500,
      couponCode: 'CB-API0000001',
    });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { conversions: unknown[] }).conversions).toEqual([
      expect.objectContaining({ enrollmentId, attributedBy: 'coupon' }),
    ]);
    const coupon = await k
      .selectFrom('coupons')
      .select('redeemed_order_id')
      .where('code', '=', 'CB-API0000001')
      .executeTakeFirstOrThrow();
    expect(coupon.redeemed_order_id).not.toBeNull();
  });

  it('answers 404 for an order of an unknown customer, storing nothing', async () => {
    const res = await call(s, '/api/orders', {
      externalId: 'o-ghost',
      customerExternalId: 'nobody',
      orderedAt: s.clock.now(),
      totalMinor: 100,
    });
    expect(res.status).toBe(404);
    expect(
      await s.engine.ctx.k.selectFrom('orders').select('id').where('external_id', '=', 'o-ghost').execute(),
    ).toHaveLength(0);
  });

  it('triggers a sequence for a customer, and says why when it does not enrol', async () => {
    await s.engine.customers.upsert([
      { externalId: 'trig-yes', email: 'yes@example.com', locale: 'en', acquiredVia: 'sale' },
      { externalId: 'trig-no', email: 'no@example.com', locale: 'en', acquiredVia: 'newsletter' },
    ]);
    await s.engine.consents.record({
      customer: 'trig-yes',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'test',
      evidence: {},
    });
    const yes = await call(s, '/api/trigger', {
      sequence: 'winback-lapsed',
      customer: 'trig-yes',
      data: { reason: 'subscription_cancelled' },
    });
    expect(yes.status).toBe(200);
    const enrolled = (await yes.json()) as { enrollmentId: number | null };
    expect(enrolled.enrollmentId).toEqual(expect.any(Number));
    const no = await call(s, '/api/trigger', { sequence: 'winback-lapsed', customer: 'trig-no' });
    expect(no.status).toBe(200);
    expect(await no.json()).toMatchObject({ enrollmentId: null, reason: expect.any(String) });
    expect((await call(s, '/api/trigger', { sequence: 'no-such-sequence', customer: 'trig-yes' })).status).toBe(404);
    expect((await call(s, '/api/trigger', { sequence: 'winback-lapsed', customer: 'nobody' })).status).toBe(404);
    expect((await call(s, '/api/trigger', { customer: 'trig-yes' })).status).toBe(400);
  });

  it('a shop without Node records customers, consents, orders and triggers over HTTP alone', async () => {
    const k = s.engine.ctx.k;
    // Customers: one or an array; a wrong field in any of them stores none of them.
    const bad = await call(s, '/api/customers', [
      { externalId: 'http-1', email: 'lea@example.com' },
      { externalId: 'http-2', email: 'not-an-address', colour: 'red' },
    ]);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { issues: string[] }).issues).toEqual([
      '[1].email: Invalid email address',
      '[1].colour: unknown field',
    ]);
    expect(await k.selectFrom('customers').select('id').where('external_id', 'like', 'http-%').execute()).toEqual([]);
    const created = await call(s, '/api/customers', [
      { externalId: 'http-1', email: 'lea@example.com', firstName: 'Lea', locale: 'de', acquiredVia: 'sale' },
      { externalId: 'http-2', email: 'max@example.com', firstName: 'Max' },
    ]);
    expect(created.status).toBe(200);
    const { customers } = (await created.json()) as { customers: Record<string, number> };
    expect(Object.keys(customers)).toEqual(['http-1', 'http-2']);
    // A single customer, only the changed address: the rest stays.
    expect((await call(s, '/api/customers', { externalId: 'http-1', email: 'lea.new@example.com' })).status).toBe(200);
    expect(await s.engine.customers.get('http-1')).toMatchObject({
      id: customers['http-1'],
      email: 'lea.new@example.com',
      first_name: 'Lea',
      locale: 'de',
      acquired_via: 'sale',
    });
    expect(
      (
        await call(
          s,
          '/api/customers',
          Array.from({ length: 1001 }, (_, i) => ({ externalId: `x${i}` })),
        )
      ).status,
    ).toBe(400);
    const typo = await call(s, '/api/customers', { externalId: 'http-1', emial: 'lea@example.com' });
    expect(await typo.json()).toEqual({
      error: 'invalid customer',
      issues: ['emial: unknown field (did you mean "email"?)'],
    });

    // Consents: a grant with its evidence, an objection; a grant without a basis is refused.
    const grant = await call(s, '/api/consents', {
      customer: 'http-1',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      textVersion: 'v3',
      evidence: { ip: '192.0.2.7', confirmedAt: '2026-06-01T12:00:00Z' },
    });
    expect(grant.status).toBe(201);
    expect(await grant.json()).toEqual({ id: expect.any(Number) });
    expect((await s.engine.consents.state('http-1')).active.map((b) => b.basis)).toEqual(['double_opt_in']);
    expect((await call(s, '/api/consents', { customer: 'http-2', action: 'grant' })).status).toBe(400);
    expect((await call(s, '/api/consents', { customer: 'nobody', action: 'grant', basis: 'opt_in' })).status).toBe(404);
    expect((await call(s, '/api/consents', { customer: 'http-2', action: 'withdraw' })).status).toBe(201);
    expect((await s.engine.consents.state('http-2')).objected).toBe(true);

    // Then the order and the trigger, as before.
    expect(
      (
        await call(s, '/api/orders', {
          externalId: 'o-http-1',
          customerExternalId: 'http-1',
          orderedAt: s.clock.now(),
          totalMinor: 2490,
        })
      ).status,
    ).toBe(201);
    expect(
      await (await call(s, '/api/trigger', { sequence: 'winback-lapsed', customer: 'http-1' })).json(),
    ).toMatchObject({ enrollmentId: expect.any(Number) });
  });

  it('takes a mail that came back as it is (message/rfc822): a hard bounce of a sent mail suppresses its address, once', async () => {
    const { messageId, customerId } = await seedMessage(s);
    const email = (await s.engine.customers.get(customerId))!.email!;
    const header = messageIdOf({ messageId, from: senderHeader(s.engine.ctx.config.sender), to: email });
    const dsn = [
      'From: MAILER-DAEMON@relay.example',
      'Message-ID: <r1@relay.example>',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="B"',
      '',
      '--B',
      'Content-Type: message/delivery-status',
      '',
      'Reporting-MTA: dns; relay.example',
      '',
      `Final-Recipient: rfc822; ${email}`,
      'Action: failed',
      'Status: 5.1.1',
      '',
      '--B',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${header}`,
      '',
      '--B--',
      '',
    ].join('\r\n');
    const post = (body: string, type = 'message/rfc822', key: string | null = API_KEY) =>
      fetch(`${s.url}/api/inbound`, {
        method: 'POST',
        headers: { 'content-type': type, ...(key ? { authorization: `Bearer ${key}` } : {}) },
        body,
      });
    expect((await post(dsn, 'message/rfc822', null)).status).toBe(401);
    expect((await post(dsn, 'application/json')).status).toBe(415);
    expect((await post('')).status).toBe(400);
    const res = await post(dsn);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ action: 'bounce', messageId });
    expect(await (await post(dsn)).json()).toMatchObject({ action: 'duplicate', messageId });
    expect(
      await s.engine.ctx.k
        .selectFrom('suppressions')
        .select('reason')
        .where('email_hash', '=', hashEmail(email))
        .execute(),
    ).toEqual([{ reason: 'hard_bounce' }]);
  });

  it('is disabled (503) while no API key is configured', async () => {
    const off = await startServer({ config: { apiKey: undefined } });
    try {
      expect((await call(off, '/api/orders', {})).status).toBe(503);
    } finally {
      await off.close();
    }
  });
});
