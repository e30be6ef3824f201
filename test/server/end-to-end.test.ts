import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSequences } from '../../src/index.js';
import type { OutgoingMail } from '../../src/delivery/index.js';
import { events, get, pathOf, startServer, UA, type TestServer } from './helpers.js';

/** A one-step survey sequence of this test's own, so changes to the example sequences don't move it. */
const SEQUENCE = `
id: e2e-survey
name: Survey after cancellation
version: 1
audience:
  trigger: e2e
consent: [double_opt_in, opt_in, existing_customer]
own_similar_goods: true
goal:
  purchase: { within: 30d }
exit_on: [purchased, unsubscribed, complained, hard_bounced]
holdout: 0%
steps:
  - id: ask-why
    template: winback/reason-survey
    subject: { en: "{{first_name}}, may we ask why?", de: "Dürfen wir fragen, warum?" }
    coupon: { percent: 15, valid: 14d }
  - id: offer
    wait: 1d
    template: winback/offer
    subject: { en: "A thank-you for coming back", de: "Ein Dankeschön" }
`;

describe('a sent mail against the tracking server, end to end', () => {
  let s: TestServer;
  let mail: OutgoingMail;
  let messageId: number;
  /** The second mail (an offer with product links). */
  let offer: OutgoingMail;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'comeback-e2e-'));
    writeFileSync(join(dir, 'e2e-survey.yaml'), SEQUENCE);
    s = await startServer({ sequences: false });
    await s.engine.ctx.sequences.sync(loadSequences([dir]), s.clock.now());
    await s.engine.customers.upsert({
      externalId: 'anna',
      email: 'anna@example.com',
      firstName: 'Anna',
      locale: 'en',
      acquiredVia: 'sale',
    });
    await s.engine.consents.record({
      customer: 'anna',
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      evidence: {},
    });
    await s.engine.orders.record({
      externalId: 'a-1',
      customerExternalId: 'anna',
      orderedAt: s.clock.now() - 100 * 86_400_000,
      totalMinor: 4990,
      items: [{ sku: 'TEA-1', name: 'Green tea', unitPriceMinor: 4990 }],
    });
    const { enrollmentId } = await s.engine.trigger('e2e-survey', 'anna');
    expect(enrollmentId).toEqual(expect.any(Number));
    await s.engine.runDue();
    expect(s.transport.sent).toHaveLength(1);
    mail = s.transport.sent[0]!;
    messageId = mail.messageId;
    s.clock.advance(86_400_000);
    await s.engine.runDue();
    expect(s.transport.sent).toHaveLength(2);
    offer = s.transport.sent[1]!;
    s.clock.advance(3_600_000); // read an hour later
  });
  afterAll(() => s.close());

  const hrefs = (html: string, kind: string) =>
    [...html.matchAll(new RegExp(`href="(http://track\\.test/${kind}/[^"]+)"`, 'g'))].map((m) =>
      m[1]!.replace(/&amp;/g, '&'),
    );

  it('every tracked link of the mail redirects to the target stored with the message', async () => {
    const stored = JSON.parse(
      (
        await s.engine.ctx.k
          .selectFrom('messages')
          .select('links')
          .where('id', '=', offer.messageId)
          .executeTakeFirstOrThrow()
      ).links,
    ) as string[];
    const clicks = [...new Set(hrefs(offer.html, 'c'))];
    expect(clicks.length).toBeGreaterThan(0);
    expect(clicks.length).toBe(stored.length);
    const targets: string[] = [];
    for (const link of clicks) {
      const res = await get(s, pathOf(link), { 'user-agent': UA.chromeMac });
      expect(res.status).toBe(307);
      targets.push(res.headers.get('location')!);
      s.clock.advance(60_000);
    }
    expect(targets.sort()).toEqual([...stored].sort());
    expect(targets.some((t) => t.includes('utm_source=comeback'))).toBe(true);
  });

  it('shows the web view re-rendered with the same coupon, and its links track the same targets', async () => {
    for (const sent of [mail, offer]) {
      const view = hrefs(sent.html, 'v')[0]!;
      const res = await get(s, pathOf(view), { 'user-agent': UA.chromeMac });
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
      const html = await res.text();
      expect(html).toContain('Anna');
      const coupon = /CB-[0-9A-F]{10}/.exec(sent.html)?.[0];
      if (coupon) expect(html).toContain(coupon);
      expect(new Set(hrefs(html, 'c'))).toEqual(new Set(hrefs(sent.html, 'c')));
      expect(new Set(hrefs(html, 'r'))).toEqual(new Set(hrefs(sent.html, 'r')));
      expect(html).not.toContain('/o/'); // no open pixel in the web view
    }
    expect(/CB-[0-9A-F]{10}/.test(mail.html)).toBe(true);
    expect(hrefs(offer.html, 'c').length).toBeGreaterThan(0);
  });

  it('a survey answer from the mail sets the churn reason and thanks with the mail’s coupon', async () => {
    const reason = hrefs(mail.html, 'r')[4]!; // the fifth reason: price
    const res = await get(s, pathOf(reason), { 'user-agent': UA.iphoneMail });
    expect(res.status).toBe(200);
    const coupon = /CB-[0-9A-F]{10}/.exec(mail.html)![0];
    expect(await res.text()).toContain(coupon);
    expect((await s.engine.customers.get('anna'))!.churn_reason).toBe('price');
  });

  it('POSTing List-Unsubscribe=One-Click to the header’s URL unsubscribes the recipient', async () => {
    const header = mail.headers['List-Unsubscribe']!;
    const https = /<(http[^>]+)>/.exec(header)![1]!;
    const res = await fetch(`${s.url}${pathOf(https)}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    await s.flush();
    const types = (await events(s)).filter((e) => e.message_id === messageId).map((e) => e.type);
    expect(types).toContain('unsubscribe');
    expect(types).toContain('reason');
    const state = await s.engine.consents.state('anna');
    expect(state.active).toEqual([]);
  });
});
