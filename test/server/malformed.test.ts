import { generateKeyPairSync, sign } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PIXEL_GIF } from '../../src/server/index.js';
import { API_KEY, events, get, seedMessage, startServer, UA, type TestServer } from './helpers.js';

const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });

function signedHeaders(body: string | Buffer): Record<string, string> {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign('sha256', Buffer.concat([Buffer.from(timestamp), Buffer.from(body)]), privateKey).toString(
    'base64',
  );
  return { 'x-twilio-email-event-webhook-signature': signature, 'x-twilio-email-event-webhook-timestamp': timestamp };
}

/** A raw request: the exact path and headers given, nothing normalised by a client library. */
function raw(
  s: TestServer,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
  const { hostname, port } = new URL(s.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: hostname,
        port,
        method,
        path,
        headers: { ...headers, ...(body !== undefined ? { 'content-length': String(Buffer.byteLength(body)) } : {}) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      },
    );
    // The server may answer (413) and close before the whole body is sent.
    req.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EPIPE' || err.code === 'ECONNRESET' ? undefined : reject(err),
    );
    if (body !== undefined) req.write(body);
    req.end();
  });
}

const auth = { authorization: `Bearer ${API_KEY}` };
const json = { 'content-type': 'application/json' };

describe('malformed requests get a 4xx, never a crash, and write nothing', () => {
  let s: TestServer;
  let messageId: number;
  beforeAll(async () => {
    s = await startServer({
      config: {
        server: { sendgridWebhookPublicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64') },
      },
    });
    ({ messageId } = await seedMessage(s));
  });
  afterAll(() => s.close());

  it('orders, trigger, customers and consents API: bad JSON, wrong shapes, wrong content type, huge body, missing or malformed auth', async () => {
    const order = JSON.stringify({ externalId: 'o-x', customerExternalId: 'nobody', orderedAt: 1, totalMinor: 1 });
    const cases: [string, Record<string, string>, string | Buffer | undefined, number][] = [
      ['bad JSON', { ...auth, ...json }, '{"externalId": ', 400],
      ['JSON null', { ...auth, ...json }, 'null', 400],
      ['JSON array', { ...auth, ...json }, '[]', 400],
      ['JSON string', { ...auth, ...json }, '"order"', 400],
      ['empty body', { ...auth, ...json }, '', 400],
      ['no body at all', { ...auth, ...json }, undefined, 400],
      [
        'wrong types',
        { ...auth, ...json },
        JSON.stringify({ externalId: 1, customerExternalId: ['c'], orderedAt: {}, totalMinor: '5' }),
        400,
      ],
      ['prototype pollution attempt', { ...auth, ...json }, '{"__proto__": {"admin": true}, "externalId": "o-p"}', 400],
      ['text/plain', { ...auth, 'content-type': 'text/plain' }, order, 415],
      ['form-encoded', { ...auth, 'content-type': 'application/x-www-form-urlencoded' }, 'externalId=o-x', 415],
      ['XML', { ...auth, 'content-type': 'application/xml' }, '<order/>', 415],
      ['2 MiB body', { ...auth, ...json }, Buffer.alloc(2 * 1024 * 1024, 0x20), 413],
      ['no auth', json, order, 401],
      ['basic auth', { ...json, authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}` }, order, 401],
      ['empty bearer', { ...json, authorization: 'Bearer ' }, order, 401],
      ['bearer with a NUL byte-like junk', { ...json, authorization: `Bearer ${API_KEY}\t${API_KEY}` }, order, 401],
    ];
    for (const [name, headers, body, status] of cases) {
      const res = await raw(s, 'POST', '/api/orders', headers, body);
      expect(res.status, name).toBe(status);
    }
    const trigger: [string, string, number][] = [
      ['bad JSON', '{', 400],
      ['data is an array', JSON.stringify({ sequence: 'winback-lapsed', customer: 'c', data: [] }), 400],
      ['customer is negative', JSON.stringify({ sequence: 'winback-lapsed', customer: -1 }), 400],
      ['unknown field', JSON.stringify({ sequence: 'winback-lapsed', customer: 'c', extra: 1 }), 400],
    ];
    for (const [name, body, status] of trigger)
      expect((await raw(s, 'POST', '/api/trigger', { ...auth, ...json }, body)).status, name).toBe(status);
    const customers: [string, string, number][] = [
      ['bad JSON', '[{"externalId": ', 400],
      ['JSON null', 'null', 400],
      ['empty array', '[]', 400],
      ['array of arrays', '[[{"externalId": "c"}]]', 400],
      ['a string', '"c-1"', 400],
      ['prototype pollution attempt', '[{"__proto__": {"admin": true}, "externalId": "c-p"}]', 400],
      ['one good, one without an id', JSON.stringify([{ externalId: 'c-good' }, { email: 'a@example.com' }]), 400],
    ];
    for (const [name, body, status] of customers)
      expect((await raw(s, 'POST', '/api/customers', { ...auth, ...json }, body)).status, name).toBe(status);
    const consents: [string, string, number][] = [
      ['bad JSON', '{', 400],
      ['unknown action', JSON.stringify({ customer: 'c', action: 'maybe', basis: 'opt_in' }), 400],
      ['unknown basis', JSON.stringify({ customer: 'c', action: 'grant', basis: 'implied' }), 400],
      [
        'evidence is a string',
        JSON.stringify({ customer: 'c', action: 'grant', basis: 'opt_in', evidence: 'yes' }),
        400,
      ],
      ['text/plain', 'customer=c', 415],
    ];
    for (const [name, body, status] of consents) {
      const headers = name === 'text/plain' ? { ...auth, 'content-type': 'text/plain' } : { ...auth, ...json };
      expect((await raw(s, 'POST', '/api/consents', headers, body)).status, name).toBe(status);
    }
    expect(
      await s.engine.ctx.k.selectFrom('customers').select('id').where('external_id', 'like', 'c-%').execute(),
    ).toHaveLength(0);
    expect((await raw(s, 'GET', '/api/orders', auth)).status).toBe(404);
    expect(await s.engine.ctx.k.selectFrom('orders').select('id').execute()).toHaveLength(0);
  });

  it('SendGrid webhook: signed but malformed bodies are 400, unsigned or wrongly typed ones 4xx, nothing stored', async () => {
    for (const body of ['{not json', '{"event":"open"}', '"x"', '']) {
      const res = await raw(s, 'POST', '/webhooks/sendgrid', { ...json, ...signedHeaders(body) }, body);
      expect(res.status, body).toBe(400);
    }
    // Entries that are not events, or name no message of ours, are ignored, not fatal.
    const junk = JSON.stringify([
      1,
      null,
      'x',
      [],
      {},
      { event: 'open' },
      { event: 'open', sg_event_id: 'j1', comeback_message_id: 'abc' },
      { event: 'open', sg_event_id: 'j2', comeback_message_id: '99999999999999999999' },
      { event: 'click', sg_event_id: { x: 1 }, comeback_message_id: String(messageId) },
    ]);
    const res = await raw(s, 'POST', '/webhooks/sendgrid', { ...json, ...signedHeaders(junk) }, junk);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString())).toMatchObject({ received: 9, accepted: 0 });
    expect(
      (await raw(s, 'POST', '/webhooks/sendgrid', { 'content-type': 'text/plain', ...signedHeaders(junk) }, junk))
        .status,
    ).toBeGreaterThanOrEqual(400);
    expect(
      (await raw(s, 'POST', '/webhooks/sendgrid', { 'content-type': 'text/plain', ...signedHeaders(junk) }, junk))
        .status,
    ).toBeLessThan(500);
    expect(
      (
        await raw(
          s,
          'POST',
          '/webhooks/sendgrid',
          {
            ...json,
            'x-twilio-email-event-webhook-signature': '%%%',
            'x-twilio-email-event-webhook-timestamp': 'yesterday',
          },
          '[]',
        )
      ).status,
    ).toBe(401);
    const huge = Buffer.alloc(17 * 1024 * 1024, 0x20);
    expect((await raw(s, 'POST', '/webhooks/sendgrid', json, huge)).status).toBe(413);
    await s.flush();
    expect(await events(s)).toHaveLength(0);
  });

  it('tracking links: bad percent-encoding, absurd tokens and odd methods', async () => {
    const long = 'c'.repeat(400);
    for (const path of [
      `/c/%E0%A4%A`,
      `/c/${long}`,
      `/c/${'c'.repeat(8_000)}`,
      '/c/',
      '/c/..%2F..%2Fetc%2Fpasswd',
      '/r/%00',
      '/v/%ZZ',
      '/u/%',
    ]) {
      const res = await raw(s, 'GET', path, { 'user-agent': UA.chromeMac });
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(res.headers.location, path).toBeUndefined();
    }
    // The pixel answers the GIF whatever the token is.
    for (const path of [`/o/${long}.gif`, `/o/${long}.${'A'.repeat(22)}.gif`, '/o/.gif', '/o/%00.gif', '/o/x.png']) {
      const res = await raw(s, 'GET', path, { 'user-agent': UA.chromeMac });
      expect(res.status, path).toBe(200);
      expect(res.body, path).toEqual(PIXEL_GIF);
    }
    const token = s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 });
    for (const method of ['PUT', 'DELETE', 'PATCH'])
      expect((await raw(s, method, `/c/${token}`)).status, method).toBe(404);
    // A body on a GET changes nothing.
    const withBody = await raw(
      s,
      'GET',
      `/c/${token}`,
      { 'user-agent': UA.chromeMac, ...json },
      '{"url":"https://evil.example"}',
    );
    expect([withBody.status, withBody.headers.location]).toEqual([
      307,
      'https://shop.example.com/new?utm_source=comeback&utm_medium=email',
    ]);
    await s.flush();
    expect((await events(s)).filter((e) => e.type === 'click')).toHaveLength(1);
  });

  it('unsubscribe: odd bodies and content types are 4xx and change nothing', async () => {
    const token = s.engine.ctx.signer.sign({ purpose: 'unsubscribe', id: messageId });
    const cases: [string, Record<string, string>, string | Buffer][] = [
      ['bad JSON', json, '{"List-Unsubscribe":'],
      ['JSON without the one-click field', json, '{"confirm":"2"}'],
      ['XML', { 'content-type': 'application/xml' }, '<List-Unsubscribe>One-Click</List-Unsubscribe>'],
      [
        'form with another value',
        { 'content-type': 'application/x-www-form-urlencoded' },
        'List-Unsubscribe=Two-Clicks',
      ],
      ['200 KiB of text', { 'content-type': 'text/plain' }, 'x'.repeat(200 * 1024)],
    ];
    for (const [name, headers, body] of cases) {
      const res = await raw(s, 'POST', `/u/${token}`, headers, body);
      expect(res.status, name).toBeGreaterThanOrEqual(400);
      expect(res.status, name).toBeLessThan(500);
    }
    const k = s.engine.ctx.k;
    expect(await k.selectFrom('suppressions').select('id').execute()).toHaveLength(0);
    expect((await events(s)).filter((e) => e.type === 'unsubscribe')).toHaveLength(0);
  });

  it('survey answers and opt-in confirmations: forged tokens and odd bodies are 4xx', async () => {
    const forged = 'A'.repeat(22);
    const cases: [string, string, Record<string, string>, string | undefined][] = [
      ['GET', `/confirm/k1.${forged}`, {}, undefined],
      ['POST', `/confirm/k1.${forged}`, json, '{"confirm":'],
      ['POST', '/confirm/%ZZ', { 'content-type': 'application/x-www-form-urlencoded' }, 'confirm=1'],
      ['POST', `/r/r1-1.${forged}`, json, '{"confirm":'],
      ['POST', `/r/${s.engine.ctx.signer.sign({ purpose: 'reason', id: messageId, index: 1 })}`, json, '{"confirm":'],
      [
        'POST',
        `/r/${s.engine.ctx.signer.sign({ purpose: 'reason', id: messageId, index: 1 })}`,
        { 'content-type': 'application/xml' },
        '<x/>',
      ],
    ];
    for (const [method, path, headers, body] of cases) {
      const res = await raw(s, method, path, { 'user-agent': UA.chromeMac, ...headers }, body);
      expect(res.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${method} ${path}`).toBeLessThan(500);
    }
    await s.flush();
    expect((await events(s)).filter((e) => e.type === 'reason')).toHaveLength(0);
  });

  it('is still healthy after all of it', async () => {
    const res = await get(s, '/healthz');
    expect(res.status).toBe(200);
    const metrics = await (await get(s, '/metrics')).text();
    // Every answer above was counted, and none was a server error.
    expect(metrics).toContain('comeback_http_request_duration_seconds_count');
    expect(metrics).not.toMatch(/comeback_http_request_duration_seconds_count\{[^}]*status="5\d\d"/);
  });
});
