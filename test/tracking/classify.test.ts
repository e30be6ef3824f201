import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyClick, classifyOpen } from '../../src/tracking/classify.js';
import { events, get, seedMessage, startServer, UA, type TestServer } from '../server/helpers.js';

/**
 * Request shapes recorded from real traffic (user agent, client address, timing after the send,
 * method, prefetch headers) and the verdict each must get. Sent over real HTTP with the client
 * address in X-Forwarded-For (the server trusts the proxy here).
 */
interface Shape {
  name: string;
  ua?: string;
  ip?: string;
  sentAgoMs: number;
  method?: string;
  headers?: Record<string, string>;
  expect: string | 'human';
}

const OPENS: Shape[] = [
  {
    name: 'Apple Mail Privacy Protection proxy',
    ua: 'Mozilla/5.0',
    ip: '17.58.101.4',
    sentAgoMs: 90_000,
    expect: 'apple_mpp_user_agent',
  },
  {
    name: 'Apple MPP with a browser-like agent from Apple’s network',
    ua: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)',
    ip: '17.121.4.200',
    sentAgoMs: 300_000,
    expect: 'apple_proxy_network',
  },
  {
    name: 'prefetch within two seconds of sending',
    ua: UA.iphoneMail,
    ip: '203.0.113.9',
    sentAgoMs: 2_000,
    expect: 'too_soon_after_send',
  },
  {
    name: 'Barracuda gateway fetching images',
    ua: 'Mozilla/5.0 (compatible; Barracuda Sentinel)',
    ip: '64.235.150.1',
    sentAgoMs: 60_000,
    expect: 'scanner_user_agent',
  },
  { name: 'no user agent', ua: '', ip: '198.51.100.20', sentAgoMs: 60_000, expect: 'no_user_agent' },
  {
    name: 'HEAD probe',
    ua: UA.chromeMac,
    ip: '198.51.100.21',
    sentAgoMs: 600_000,
    method: 'HEAD',
    expect: 'head_request',
  },
  {
    name: 'browser prefetch hint',
    ua: UA.chromeMac,
    ip: '198.51.100.22',
    sentAgoMs: 600_000,
    headers: { 'sec-purpose': 'prefetch' },
    expect: 'prefetch_header',
  },
  {
    name: 'Gmail image proxy (fetches when the mail is opened)',
    ua: 'Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)',
    ip: '66.249.84.12',
    sentAgoMs: 3_600_000,
    expect: 'human',
  },
  { name: 'iPhone Mail an hour later', ua: UA.iphoneMail, ip: '203.0.113.50', sentAgoMs: 3_600_000, expect: 'human' },
  { name: 'Outlook desktop', ua: UA.outlookDesktop, ip: '203.0.113.51', sentAgoMs: 7_200_000, expect: 'human' },
];

const CLICKS: Shape[] = [
  {
    name: 'Microsoft Safe Links style HEAD check',
    ua: UA.chromeMac,
    ip: '40.94.1.1',
    sentAgoMs: 600_000,
    method: 'HEAD',
    expect: 'head_request',
  },
  {
    name: 'Mimecast URL Protect',
    ua: 'Mimecast URL Protect',
    ip: '91.220.42.1',
    sentAgoMs: 600_000,
    expect: 'scanner_user_agent',
  },
  {
    name: 'Proofpoint URL Defense',
    ua: 'Mozilla/5.0 (compatible; Proofpoint URL Defense)',
    ip: '148.163.128.1',
    sentAgoMs: 600_000,
    expect: 'scanner_user_agent',
  },
  { name: 'curl', ua: 'curl/8.5.0', ip: '198.51.100.30', sentAgoMs: 600_000, expect: 'scanner_user_agent' },
  {
    name: 'Slack link preview',
    ua: 'Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)',
    ip: '198.51.100.31',
    sentAgoMs: 600_000,
    expect: 'scanner_user_agent',
  },
  {
    name: 'headless Chrome sandbox',
    ua: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36',
    ip: '198.51.100.32',
    sentAgoMs: 600_000,
    expect: 'scanner_user_agent',
  },
  { name: 'bare Mozilla/5.0', ua: 'Mozilla/5.0', ip: '198.51.100.33', sentAgoMs: 600_000, expect: 'bare_user_agent' },
  { name: 'no user agent at all', ua: '', ip: '198.51.100.35', sentAgoMs: 600_000, expect: 'no_user_agent' },
  {
    name: 'Chrome speculative prefetch',
    ua: UA.chromeMac,
    ip: '198.51.100.36',
    sentAgoMs: 600_000,
    headers: { 'sec-purpose': 'prefetch;prerender' },
    expect: 'prefetch_header',
  },
  {
    name: 'Firefox link prefetch',
    ua: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0',
    ip: '198.51.100.37',
    sentAgoMs: 600_000,
    headers: { 'x-moz': 'prefetch' },
    expect: 'prefetch_header',
  },
  {
    name: 'a real browser three seconds after sending',
    ua: UA.chromeMac,
    ip: '198.51.100.34',
    sentAgoMs: 3_000,
    expect: 'too_soon_after_send',
  },
  {
    name: 'a person in Chrome ten minutes later',
    ua: UA.chromeMac,
    ip: '203.0.113.60',
    sentAgoMs: 600_000,
    expect: 'human',
  },
  {
    name: 'a person on an iPhone the next day',
    ua: UA.iphoneMail,
    ip: '203.0.113.61',
    sentAgoMs: 86_400_000,
    expect: 'human',
  },
];

describe('human or machine, from recorded request shapes over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer({ server: { trustProxy: true } });
  });
  afterAll(() => s.close());

  async function lastEvent() {
    await s.flush();
    const rows = await events(s);
    return rows[rows.length - 1]!;
  }

  function headersOf(shape: Shape): Record<string, string> {
    return { 'user-agent': shape.ua ?? '', 'x-forwarded-for': shape.ip ?? '203.0.113.1', ...shape.headers };
  }

  it.each(OPENS)('open: $name → $expect', async (shape) => {
    const { messageId } = await seedMessage(s, { sentAgoMs: shape.sentAgoMs });
    const res = await get(
      s,
      `/o/${s.engine.ctx.signer.sign({ purpose: 'open', id: messageId })}.gif`,
      headersOf(shape),
      shape.method,
    );
    expect(res.status).toBe(200);
    const e = await lastEvent();
    expect(e.message_id).toBe(messageId);
    expect(e.type).toBe('open');
    if (shape.expect === 'human') expect([e.machine, e.machine_reason]).toEqual([0, null]);
    else expect([e.machine, e.machine_reason]).toEqual([1, shape.expect]);
  });

  it.each(CLICKS)('click: $name → $expect', async (shape) => {
    const { messageId } = await seedMessage(s, { sentAgoMs: shape.sentAgoMs });
    const res = await get(
      s,
      `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 })}`,
      headersOf(shape),
      shape.method,
    );
    expect(res.status).toBe(307);
    const e = await lastEvent();
    expect([e.message_id, e.type, e.link_index]).toEqual([messageId, 'click', 0]);
    if (shape.expect === 'human') expect([e.machine, e.machine_reason]).toEqual([0, null]);
    else expect([e.machine, e.machine_reason]).toEqual([1, shape.expect]);
  });

  it('flags a scanner that clicks several links of one message at once, the first click included', async () => {
    const { messageId } = await seedMessage(s, {
      links: ['https://shop.example.com/a', 'https://shop.example.com/b', 'https://shop.example.com/c'],
      sentAgoMs: 900_000,
    });
    const sign = (index: number) => s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index });
    // A scanner with a browser's user agent, long after sending: each click alone looks human.
    for (const i of [0, 1, 2]) {
      expect((await get(s, `/c/${sign(i)}`, { 'user-agent': UA.chromeMac })).status).toBe(307);
      s.clock.advance(150);
    }
    await s.flush();
    const rows = (await events(s)).filter((e) => e.message_id === messageId);
    expect(rows.map((e) => [e.link_index, e.machine, e.machine_reason])).toEqual([
      [0, 1, 'multi_link_burst'],
      [1, 1, 'multi_link_burst'],
      [2, 1, 'multi_link_burst'],
    ]);
  });

  it('keeps a person who clicks two links minutes apart, and the same link twice, as human', async () => {
    const { messageId } = await seedMessage(s, { sentAgoMs: 900_000 });
    const sign = (index: number) => s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index });
    await get(s, `/c/${sign(0)}`, { 'user-agent': UA.chromeMac });
    s.clock.advance(500);
    await get(s, `/c/${sign(0)}`, { 'user-agent': UA.chromeMac }); // a double click
    s.clock.advance(120_000);
    await get(s, `/c/${sign(1)}`, { 'user-agent': UA.chromeMac });
    await s.flush();
    const rows = (await events(s)).filter((e) => e.message_id === messageId);
    expect(rows.map((e) => [e.link_index, e.machine])).toEqual([
      [0, 0],
      [0, 0],
      [1, 0],
    ]);
  });

  it('flags a click on the hidden honeypot link, and the clicks of the same visit before it', async () => {
    const { messageId } = await seedMessage(s, { sentAgoMs: 900_000 });
    await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 0 })}`, {
      'user-agent': UA.chromeMac,
    });
    await s.flush(); // the first click is already stored when the honeypot is hit
    s.clock.advance(400);
    const honeypot = new URL(s.engine.ctx.urls.honeypot(messageId));
    const res = await get(s, honeypot.pathname, { 'user-agent': UA.chromeMac });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    await s.flush();
    const rows = (await events(s)).filter((e) => e.message_id === messageId);
    expect(rows.map((e) => [e.source, e.machine, e.machine_reason])).toEqual([
      ['link', 1, 'honeypot_link'],
      ['honeypot', 1, 'honeypot_link'],
    ]);
  });

  it('applies the rules as pure functions too', () => {
    expect(classifyOpen({ userAgent: 'Mozilla/5.0' })).toEqual({ machine: true, reason: 'apple_mpp_user_agent' });
    expect(classifyOpen({ userAgent: UA.iphoneMail, ip: '::ffff:17.1.2.3' })).toEqual({
      machine: true,
      reason: 'apple_proxy_network',
    });
    expect(classifyOpen({ userAgent: UA.iphoneMail, ip: '170.1.2.3', sinceSentMs: 60_000 })).toEqual({
      machine: false,
    });
    expect(classifyClick({ userAgent: UA.chromeMac, sinceSentMs: 60_000 }, { otherLinksInBurst: 1 })).toEqual({
      machine: true,
      reason: 'multi_link_burst',
    });
    expect(classifyClick({ userAgent: UA.chromeMac, sinceSentMs: 60_000 }, { honeypot: true })).toEqual({
      machine: true,
      reason: 'honeypot_link',
    });
    expect(
      classifyClick(
        { userAgent: UA.chromeMac, sinceSentMs: 9_000 },
        {},
        { machineOpenWithinMs: 0, botClickWithinMs: 5_000 },
      ),
    ).toEqual({ machine: false });
  });

  it('keeps machine events out of the facts sequences branch on', async () => {
    const { factsFor } = await import('../../src/engine/facts.js');
    const machine = await seedMessage(s, { sentAgoMs: 1_000 });
    const human = await seedMessage(s, { sentAgoMs: 3_600_000 });
    for (const m of [machine, human]) {
      await get(s, `/o/${s.engine.ctx.signer.sign({ purpose: 'open', id: m.messageId })}.gif`, {
        'user-agent': 'Mozilla/5.0',
      });
      await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: m.messageId, index: 0 })}`, {
        'user-agent': 'Mimecast URL Protect',
      });
    }
    s.clock.advance(60_000); // later than the scanner's burst window
    await get(s, `/c/${s.engine.ctx.signer.sign({ purpose: 'click', id: human.messageId, index: 1 })}`, {
      'user-agent': UA.chromeMac,
    });
    await s.flush();
    const k = s.engine.ctx.k;
    const enrollments = await k
      .selectFrom('enrollments')
      .select(['id', 'customer_id', 'enrolled_at'])
      .where('id', 'in', [machine.enrollmentId, human.enrollmentId])
      .execute();
    const facts = await factsFor(k, enrollments);
    expect(facts.get(machine.enrollmentId)).toMatchObject({ opened: false, clicked: false });
    expect(facts.get(human.enrollmentId)).toMatchObject({ opened: true, clicked: true });
  });
});
