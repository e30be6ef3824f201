/**
 * The transports against real counterparts: SMTP (with DKIM) to smtp-server, SendGrid to a local
 * HTTP server speaking the v3 mail-send API, the outbox folder; the MIME writer; the rate limiters.
 */
import { createHash, createPublicKey, createVerify, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { buildMime, encodeQuotedPrintable } from '../../src/delivery/mime.js';
import { OutboxTransport } from '../../src/delivery/outbox.js';
import { LocalRateLimiter, RedisRateLimiter } from '../../src/delivery/rate-limit.js';
import { SendgridTransport } from '../../src/delivery/sendgrid.js';
import { SmtpTransport } from '../../src/delivery/smtp.js';
import type { OutgoingMail } from '../../src/delivery/types.js';
import {
  ConfigError,
  DeliveryUnknownError,
  PermanentSendError,
  ProviderUnreachableError,
  TemplateError,
  TransientSendError,
} from '../../src/errors.js';
import { REDIS_URL } from '../helpers/backends.js';
import { SmtpSink } from './sink.js';

const mail = (over: Partial<OutgoingMail> = {}): OutgoingMail => ({
  messageId: 42,
  from: '"Müller Tee & Co" <shop@example.com>',
  to: 'anna@example.com',
  subject: 'Anna, wir vermissen Sie – 10 % für Sie 🍵',
  date: new Date(Date.UTC(2026, 5, 1, 10)),
  html: `<p style="color:#333">Grüße,=&nbsp;Anna</p>\n.dot at line start\n${'x'.repeat(300)}\ntrailing space \n`,
  text: 'Grüße, Anna\n.dot\ntrailing tab\t\n',
  headers: {
    'List-Unsubscribe': '<https://t.example.com/u/abc>, <mailto:unsubscribe@example.com?subject=unsubscribe-42>',
    'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
    'X-Comeback-Message': '42',
  },
  ...over,
});

/** Decodes quoted-printable (for checking the encoder). */
function decodeQp(s: string): string {
  const bytes = Buffer.from(s.replace(/=\r\n/g, '').replace(/\r\n/g, '\n'), 'latin1').toString('latin1');
  return Buffer.from(
    bytes.replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

function parts(raw: string): { head: string; body: string } {
  const i = raw.indexOf('\r\n\r\n');
  return { head: raw.slice(0, i), body: raw.slice(i + 4) };
}

describe('MIME writer', () => {
  it('writes multipart/alternative with quoted-printable parts that decode to the input', () => {
    const m = mail();
    const raw = buildMime(m).toString('latin1');
    const { head, body } = parts(raw);
    expect(head).toMatch(/^From: =\?UTF-8\?B\?.+\?= <shop@example\.com>$/m);
    expect(head).toContain('MIME-Version: 1.0');
    expect(head).toMatch(/^Message-ID: <comeback\.42\.[0-9a-f]{16}@example\.com>$/m);
    expect(head).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    const subject = /^Subject: ((?:.*)(?:\r\n .*)*)/m.exec(head)![1]!;
    const decoded = subject
      .split('\r\n ')
      .map((w) => Buffer.from(/=\?UTF-8\?B\?(.*)\?=/.exec(w)![1]!, 'base64').toString('utf8'))
      .join('');
    expect(decoded).toBe(m.subject);
    const boundary = /boundary="([^"]+)"/.exec(head)![1]!;
    const [, textPart, htmlPart] = body.split(`--${boundary}`);
    expect(decodeQp(parts(textPart!.replace(/^\r\n/, '')).body.replace(/\r\n$/, ''))).toBe(m.text);
    expect(decodeQp(parts(htmlPart!.replace(/^\r\n/, '')).body.replace(/\r\n$/, ''))).toBe(m.html);
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    expect(raw).not.toMatch(/[^\r]\n/); // CRLF only
  });
  it('encodes trailing whitespace, "=" and non-ASCII; keeps lines at most 76 characters', () => {
    expect(encodeQuotedPrintable('a = b \nc\t').toString()).toBe('a =3D b=20\r\nc=09');
    const long = encodeQuotedPrintable('ä'.repeat(100)).toString();
    expect(long.split('\r\n').every((l) => l.length <= 76)).toBe(true);
    expect(decodeQp(long)).toBe('ä'.repeat(100));
  });
  it('refuses header injection', () => {
    expect(() => buildMime(mail({ subject: 'hi\r\nBcc: x@evil.example' }))).toThrow(TemplateError);
  });
});

/** Minimal DKIM verification (relaxed/relaxed, rsa-sha256) of a received message. */
function verifyDkim(raw: string, publicKeyPem: string): { ok: boolean; signed: string[] } {
  const { head, body } = parts(raw);
  const fields = head.split(/\r\n(?![ \t])/);
  const sigField = fields.find((f) => /^dkim-signature:/i.test(f))!;
  const tags = Object.fromEntries(
    sigField
      .slice(sigField.indexOf(':') + 1)
      .replace(/\r\n[ \t]/g, '')
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')]),
  ) as Record<string, string>;
  const relaxed = (f: string) => {
    const i = f.indexOf(':');
    return `${f.slice(0, i).toLowerCase().trim()}:${f
      .slice(i + 1)
      .replace(/\r\n/g, '')
      .replace(/[ \t]+/g, ' ')
      .trim()}`;
  };
  const bodyCanon = body
    .replace(/[ \t]+\r\n/g, '\r\n')
    .replace(/[ \t]+/g, ' ')
    .replace(/(\r\n)*$/, '\r\n');
  const bh = createHash('sha256').update(bodyCanon).digest('base64');
  const signed = tags.h!.split(':').map((h) => h.toLowerCase());
  const data =
    signed.map((h) => relaxed(fields.filter((f) => f.toLowerCase().startsWith(`${h}:`)).at(-1)!)).join('\r\n') +
    '\r\n' +
    relaxed(sigField.replace(/b=[^;]*$/, 'b='));
  const ok =
    bh === tags.bh && createVerify('RSA-SHA256').update(data).verify(createPublicKey(publicKeyPem), tags.b!, 'base64');
  return { ok, signed };
}

describe('SMTP transport', () => {
  let sink: SmtpSink | undefined;
  afterEach(async () => {
    await sink?.stop();
    sink = undefined;
  });

  it('signs with DKIM covering List-Unsubscribe and List-Unsubscribe-Post; the signature verifies', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    sink = new SmtpSink({ keepRaw: true });
    await sink.start();
    const t = new SmtpTransport({
      type: 'smtp',
      url: sink.url,
      pool: 1,
      timeoutMs: 10_000,
      dkim: {
        domainName: 'example.com',
        keySelector: 'cb',
        privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    let committed = 0;
    const receipt = await t.send(mail(), { commit: async () => void committed++ });
    await t.close();
    expect(committed).toBe(1);
    expect(receipt.providerId).toBeTruthy();
    const raw = sink.accepted[0]!.raw.toString('latin1');
    const { ok, signed } = verifyDkim(raw, publicKey.export({ type: 'spki', format: 'pem' }).toString());
    expect(signed).toEqual(expect.arrayContaining(['from', 'subject', 'list-unsubscribe', 'list-unsubscribe-post']));
    expect(ok).toBe(true);
  });

  it('with the server down, every send waiting for a connection fails as unreachable; none waits forever', async () => {
    const probe = new SmtpSink();
    const port = await probe.start();
    await probe.stop();
    const t = new SmtpTransport({ type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 2, timeoutMs: 5_000 });
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 7 }, () =>
          t.send(mail()).then(
            () => 'sent',
            (e: unknown) => e,
          ),
        ),
      );
      expect(outcomes.every((e) => e instanceof ProviderUnreachableError)).toBe(true);
      expect((outcomes[6] as Error).message).toMatch(
        new RegExp(`^SMTP 127\\.0\\.0\\.1:${port}: no session \\(.*ECONNREFUSED`),
      );
    } finally {
      await t.close();
    }
  }, 15_000);

  it('refuses an unusable DKIM key at start instead of sending unsigned mail', () => {
    const smtp = (privateKey: string) => () =>
      new SmtpTransport({
        type: 'smtp',
        url: 'smtp://127.0.0.1:25',
        pool: 1,
        timeoutMs: 1000,
        dkim: { domainName: 'example.com', keySelector: 'cb', privateKey },
      });
    expect(smtp('not a key')).toThrow(ConfigError);
    expect(smtp('not a key')).toThrow(/transport\.dkim\.privateKey: not a private key in PEM form/);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(smtp(ec)).toThrow(/an RSA key is needed for rsa-sha256, got ec/);
  });

  it('abandons the mail when the commit hook refuses: the server never gets the final dot', async () => {
    sink = new SmtpSink();
    await sink.start();
    const t = new SmtpTransport({ type: 'smtp', url: sink.url, pool: 1, timeoutMs: 10_000 });
    const refusal = new Error('claim lost');
    await expect(t.send(mail(), { commit: async () => Promise.reject(refusal) })).rejects.toBe(refusal);
    await t.send(mail({ messageId: 43, headers: { 'X-Comeback-Message': '43' } })); // the pool recovers
    await t.close();
    expect(sink.accepted.map((m) => m.messageId)).toEqual([43]);
  });

  it('reports an unknown outcome when the server goes silent after the final dot', async () => {
    sink = new SmtpSink({ onData: () => 'hang' });
    await sink.start();
    const t = new SmtpTransport({ type: 'smtp', url: sink.url, pool: 1, timeoutMs: 600 });
    const r = t.send(mail(), { commit: async () => {} });
    await expect(r).rejects.toBeInstanceOf(DeliveryUnknownError);
    await t.close();
  });
});

describe('SendGrid transport (local v3 mail-send server)', () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  async function fakeSendgrid(
    reply: (req: IncomingMessage, body: any) => { status: number; body?: unknown } | 'hang',
    timeoutMs?: number,
    scopes?: string[],
    apiKey = 'SG.test-key',
  ) {
    const requests: { auth?: string; body: any }[] = [];
    server = createServer((req, res) => {
      let data = '';
      req.on('data', (c) => (data += c));
      req.on('end', () => {
        const body = JSON.parse(data || '{}');
        requests.push({ auth: req.headers.authorization, body });
        const r =
          req.method === 'POST' && req.url === '/v3/mail/send'
            ? reply(req, body)
            : req.method === 'GET' && req.url === '/v3/scopes'
              ? req.headers.authorization === 'Bearer SG.test-key'
                ? { status: 200, body: { scopes: scopes ?? ['mail.send'] } }
                : { status: 401, body: { errors: [{ message: 'authorization required' }] } }
              : { status: 404 };
        if (r === 'hang') return;
        res.writeHead(r.status, {
          'content-type': 'application/json',
          ...(r.status === 202 ? { 'x-message-id': 'sg-abc123' } : {}),
        });
        res.end(r.body ? JSON.stringify(r.body) : '');
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    return { requests, transport: new SendgridTransport({ type: 'sendgrid', apiKey, baseUrl, timeoutMs }) };
  }

  it('verify asks SendGrid whether the API key may send mail, and sends nothing', async () => {
    const ok = await fakeSendgrid(() => ({ status: 202 }));
    await ok.transport.verify();
    expect(ok.requests.map((r) => r.body)).toEqual([{}]); // the GET only
    server!.close();
    const readOnly = await fakeSendgrid(() => ({ status: 202 }), undefined, ['stats.read']);
    await expect(readOnly.transport.verify()).rejects.toThrow(/may not send mail \(scope mail\.send missing\)/);
    server!.close();
    const wrongKey = await fakeSendgrid(() => ({ status: 202 }), undefined, undefined, 'SG.wrong');
    await expect(wrongKey.transport.verify()).rejects.toThrow(/SendGrid 401: the API key was refused/);
  });

  it('a request SendGrid never answers ends after the timeout as unknown (it may have been accepted), not never', async () => {
    const { requests, transport } = await fakeSendgrid(() => 'hang', 300);
    let committed = 0;
    // Ends at all (the fake never answers): the 300 ms timeout, not the hang, which would exceed the test's timeout.
    await expect(transport.send(mail(), { commit: async () => void committed++ })).rejects.toBeInstanceOf(
      DeliveryUnknownError,
    );
    expect(committed).toBe(1);
    expect(requests).toHaveLength(1);
  });

  it('posts the mail with custom_args carrying the message id and returns the X-Message-Id', async () => {
    const { requests, transport } = await fakeSendgrid(() => ({ status: 202 }));
    let committed = false;
    const receipt = await transport.send(mail(), { commit: async () => void (committed = true) });
    expect(committed).toBe(true);
    expect(receipt.providerId).toBe('sg-abc123');
    const { auth, body } = requests[0]!;
    expect(auth).toBe('Bearer SG.test-key');
    expect(body.custom_args ?? body.personalizations[0].custom_args).toEqual({ comeback_message_id: '42' });
    expect(body.personalizations[0].to[0].email).toBe('anna@example.com');
    expect(body.headers['List-Unsubscribe-Post']).toBe('List-Unsubscribe=One-Click');
    expect(body.content.map((c: { type: string }) => c.type)).toEqual(['text/plain', 'text/html']);
  });

  it('classifies 400 as permanent, 500 as retry, the account or service refusing (401, 403, 429, 503) as the provider unreachable, and sends nothing when the commit hook refuses', async () => {
    let status = 400;
    const { requests, transport } = await fakeSendgrid(() => ({ status, body: { errors: [{ message: 'bad' }] } }));
    await expect(transport.send(mail())).rejects.toBeInstanceOf(PermanentSendError);
    status = 500;
    const retry = await transport.send(mail()).catch((e: unknown) => e);
    expect(retry).toBeInstanceOf(TransientSendError);
    expect(retry).not.toBeInstanceOf(ProviderUnreachableError);
    for (status of [401, 403, 429, 503])
      await expect(transport.send(mail())).rejects.toBeInstanceOf(ProviderUnreachableError);
    const before = requests.length;
    await expect(transport.send(mail(), { commit: () => Promise.reject(new Error('no')) })).rejects.toThrow('no');
    expect(requests.length).toBe(before);
  });
});

describe('outbox transport', () => {
  it('writes one .eml file per message', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-outbox-'));
    await new OutboxTransport(dir).send(mail());
    expect(readdirSync(dir)).toEqual(['message-0000042.eml']);
    expect(readFileSync(join(dir, 'message-0000042.eml'), 'latin1')).toContain('X-Comeback-Message: 42');
  });
});

describe('rate limits', () => {
  it('spaces sends in one process', async () => {
    const limiter = new LocalRateLimiter(50);
    const t0 = performance.now();
    for (let i = 0; i < 26; i++) await limiter.take();
    expect(performance.now() - t0).toBeGreaterThanOrEqual(480);
  });
  it('shares one limit between workers through Redis', async () => {
    const a = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    const b = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      await a.ping().catch((err: Error) => {
        throw new Error(`Redis is required for this test but is not reachable at ${REDIS_URL} (${err.message})`);
      });
      const key = `cbtest:rate:${process.pid}:${Date.now()}`;
      const [la, lb] = [new RedisRateLimiter(a, key, 50), new RedisRateLimiter(b, key, 50)];
      const t0 = performance.now();
      await Promise.all([
        (async () => {
          for (let i = 0; i < 20; i++) await la.take();
        })(),
        (async () => {
          for (let i = 0; i < 20; i++) await lb.take();
        })(),
      ]);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(740); // 40 sends at 50/s, the first one free
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
