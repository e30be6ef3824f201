import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { dialects } from '../helpers/backends.js';
import { events, seedMessage, startServer, type TestServer } from './helpers.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
/** The verification key as SendGrid's settings page shows it: base64 of the DER public key. */
const PUBLIC_KEY = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');

function signed(body: string, key: KeyObject = privateKey, timestamp = String(Math.floor(Date.now() / 1000))) {
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), key).toString('base64');
  return { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

/** Event times: a minute after the test clock's now (messages were sent an hour before it). */
const NOW_S = Date.UTC(2026, 5, 1, 10, 1) / 1000;

function deliver(s: TestServer, body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(`${s.url}/webhooks/sendgrid`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A batch as SendGrid posts it: custom args flattened into each event. */
function batch(messageId: number, suffix = '', timestamp = NOW_S) {
  const base = {
    email: 'anna@example.com',
    timestamp,
    comeback_message_id: String(messageId),
    sg_message_id: `sg-${messageId}`,
  };
  return [
    { ...base, event: 'processed', sg_event_id: `p${suffix}` },
    { ...base, event: 'delivered', sg_event_id: `d${suffix}`, response: '250 OK' },
    {
      ...base,
      event: 'open',
      sg_event_id: `o${suffix}`,
      sg_machine_open: true,
      useragent: 'Mozilla/5.0',
      ip: '17.58.1.1',
    },
    {
      ...base,
      event: 'click',
      sg_event_id: `c${suffix}`,
      url: 'https://shop.example.com/sale',
      useragent:
        'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
      ip: '203.0.113.5',
    },
  ];
}

describe.each(dialects)('SendGrid Event Webhook on $name', ({ url }) => {
  let s: TestServer | undefined;
  afterEach(async () => {
    await s?.close();
    s = undefined;
  });

  async function server() {
    s = await startServer({ database: await url(), config: { server: { sendgridWebhookPublicKey: PUBLIC_KEY } } });
    return s;
  }

  it('rejects a missing, wrong or tampered signature with 401 and stores nothing', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s);
    const body = JSON.stringify([
      {
        event: 'bounce',
        sg_event_id: 'b1',
        comeback_message_id: String(messageId),
        type: 'bounce',
        reason: '550 5.1.1 no such user',
        timestamp: NOW_S,
      },
    ]);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const good = signed(body);
    const cases: [string, Record<string, string>][] = [
      [body, {}],
      [body, signed(body, other)],
      [body.replace('550', '551'), good], // body altered after signing
      [
        body,
        {
          ...good,
          'x-twilio-email-event-webhook-timestamp': String(Number(good['x-twilio-email-event-webhook-timestamp']) + 1),
        },
      ],
      [body, { ...good, 'x-twilio-email-event-webhook-signature': 'bm90IGEgc2lnbmF0dXJl' }],
    ];
    for (const [b, headers] of cases) expect((await deliver(s, b, headers)).status).toBe(401);
    await s.flush();
    expect(await events(s)).toHaveLength(0);
    expect(await s.engine.ctx.k.selectFrom('suppressions').select('id').execute()).toHaveLength(0);
  });

  it('refuses everything while no verification key is configured', async () => {
    s = await startServer({ database: await url() });
    const { messageId } = await seedMessage(s);
    const body = JSON.stringify(batch(messageId));
    expect((await deliver(s, body, signed(body))).status).toBe(401);
    expect(await events(s)).toHaveLength(0);
  });

  it('maps events to the message by custom args and counts a redelivered batch once', async () => {
    const s = await server();
    const { messageId } = await seedMessage(s, {
      links: ['https://shop.example.com/new', 'https://shop.example.com/sale'],
    });
    const body = JSON.stringify([
      ...batch(messageId),
      { event: 'delivered', sg_event_id: 'x1', comeback_message_id: '999999' },
      { event: 'delivered', comeback_message_id: String(messageId) },
    ]);
    const first = await deliver(s, body, signed(body));
    expect(first.status).toBe(200);
    expect(await first.json()).toEqual({ received: 6, accepted: 3, duplicates: 0, ignored: 3 });
    const again = await deliver(s, body, signed(body));
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: 6, accepted: 0, duplicates: 3, ignored: 3 });
    // Two deliveries racing each other: the unique index keeps one row per event.
    const racing = JSON.stringify(batch(messageId, '-race'));
    await Promise.all([deliver(s, racing, signed(racing)), deliver(s, racing, signed(racing))]);
    await s.flush();
    const rows = await events(s);
    expect(rows.map((e) => [e.type, e.provider_event_id, e.machine, e.link_index])).toEqual(
      expect.arrayContaining([
        ['delivered', 'sendgrid:d', 0, null],
        ['open', 'sendgrid:o', 1, null],
        ['click', 'sendgrid:c', 0, 1],
      ]),
    );
    expect(rows).toHaveLength(6);
    expect(rows.find((e) => e.type === 'open')!.machine_reason).toBe('provider_machine_open');
    expect(rows.every((e) => e.message_id === messageId)).toBe(true);
  });

  it('suppresses on bounces and spam reports, withdraws on unsubscribes, keeps blocked bounces soft', async () => {
    const s = await server();
    const hard = await seedMessage(s);
    const spam = await seedMessage(s);
    const unsub = await seedMessage(s);
    const soft = await seedMessage(s);
    const body = JSON.stringify([
      {
        event: 'bounce',
        type: 'bounce',
        sg_event_id: 'h1',
        comeback_message_id: String(hard.messageId),
        reason: '550 5.1.1 user unknown',
        timestamp: NOW_S + 0,
      },
      { event: 'spamreport', sg_event_id: 's1', comeback_message_id: String(spam.messageId), timestamp: NOW_S + 1 },
      {
        event: 'group_unsubscribe',
        sg_event_id: 'u1',
        comeback_message_id: String(unsub.messageId),
        asm_group_id: 1,
        timestamp: NOW_S + 2,
      },
      {
        event: 'bounce',
        type: 'blocked',
        sg_event_id: 'b1',
        comeback_message_id: String(soft.messageId),
        reason: '421 try later',
        timestamp: NOW_S + 3,
      },
    ]);
    const res = await deliver(s, body, signed(body));
    expect(res.status).toBe(200);
    const k = s.engine.ctx.k;
    const suppressed = async (customerId: number) => {
      const c = await k
        .selectFrom('customers')
        .select('email_hash')
        .where('id', '=', customerId)
        .executeTakeFirstOrThrow();
      return (
        await k.selectFrom('suppressions').select('reason').where('email_hash', '=', c.email_hash!).execute()
      ).map((r) => r.reason);
    };
    expect(await suppressed(hard.customerId)).toEqual(['hard_bounce']);
    expect(await suppressed(spam.customerId)).toEqual(['complaint']);
    expect(await suppressed(unsub.customerId)).toEqual(['unsubscribe']);
    expect((await s.engine.consents.state(unsub.customerId)).active).toEqual([]);
    expect(await suppressed(soft.customerId)).toEqual([]);
    const rows = await events(s);
    expect(rows.map((e) => e.type).sort()).toEqual(['bounce', 'complaint', 'soft_bounce', 'unsubscribe']);
    expect(rows.find((e) => e.type === 'bounce')!.occurred_at).toBe(NOW_S * 1000);
    // A redelivery of the same batch changes nothing.
    const again = await deliver(s, body, signed(body));
    expect(await again.json()).toMatchObject({ accepted: 0, duplicates: 4 });
    expect(await events(s)).toHaveLength(4);
  });
});
