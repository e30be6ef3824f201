import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { factsFor } from '../../src/engine/facts.js';
import { CHURN_REASONS } from '../../src/index.js';
import { events, get, seedMessage, startServer, UA, type TestServer } from './helpers.js';

describe('reason survey links over HTTP', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startServer();
  });
  afterAll(() => s.close());

  async function customer(id: number) {
    return s.engine.ctx.k
      .selectFrom('customers')
      .select(['churn_reason', 'churn_reason_source'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  it('records the churn reason a person clicks and shows the thank-you page with the promised coupon', async () => {
    const { messageId, customerId, enrollmentId } = await seedMessage(s, { locale: 'de' });
    await s.engine.ctx.k
      .insertInto('coupons')
      .values({
        code: 'CB-THANKYOU01',
        customer_id: customerId,
        enrollment_id: enrollmentId,
        message_id: messageId,
        percent: 10,
        amount_minor: null,
        currency: null,
        expires_at: s.clock.now() + 14 * 86_400_000,
        created_at: s.clock.now(),
      })
      .execute();
    const price = CHURN_REASONS.indexOf('price');
    const res = await get(s, new URL(s.engine.ctx.urls.reason(messageId, price)).pathname, {
      'user-agent': UA.iphoneMail,
    });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('Vielen Dank');
    expect(html).toContain('Die Preise sind mir zu hoch');
    expect(html).toContain('CB-THANKYOU01');
    expect(html).toContain('10 %');
    expect(await customer(customerId)).toEqual({ churn_reason: 'price', churn_reason_source: 'survey' });
    const [e] = await events(s).then((rows) => rows.filter((r) => r.message_id === messageId));
    expect([e!.type, e!.link_index, e!.machine]).toEqual(['reason', price, 0]);

    // The sequence branches on it: the facts carry the answer and the reason.
    const enrollment = await s.engine.ctx.k
      .selectFrom('enrollments')
      .select(['id', 'customer_id', 'enrolled_at'])
      .where('id', '=', enrollmentId)
      .execute();
    const facts = (await factsFor(s.engine.ctx.k, enrollment)).get(enrollmentId)!;
    expect(facts).toMatchObject({ surveyAnswered: true, churnReason: 'price' });
  });

  it('a link scanner records a machine click only and gets a confirm button; the confirmation records the reason', async () => {
    const { messageId, customerId } = await seedMessage(s);
    const service = CHURN_REASONS.indexOf('service');
    const path = new URL(s.engine.ctx.urls.reason(messageId, service)).pathname;
    const scanned = await get(s, path, { 'user-agent': 'Mozilla/5.0 (compatible; Proofpoint URL Defense)' });
    expect(scanned.status).toBe(200);
    expect(await scanned.text()).toContain('<form method="post">');
    await s.flush();
    expect((await customer(customerId)).churn_reason).toBeNull();
    const rows = (await events(s)).filter((r) => r.message_id === messageId);
    expect(rows.map((r) => [r.type, r.machine, r.machine_reason, r.source])).toEqual([
      ['click', 1, 'scanner_user_agent', 'reason_link'],
    ]);

    const confirmed = await fetch(`${s.url}${path}`, {
      method: 'POST',
      body: 'confirm=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': UA.chromeMac },
      redirect: 'manual',
    });
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Thank you for your answer');
    expect((await customer(customerId)).churn_reason).toBe('service');
  });

  it('refuses forged reason tokens and reason indexes that do not exist', async () => {
    const { messageId, customerId } = await seedMessage(s);
    const good = s.engine.ctx.signer.sign({ purpose: 'reason', id: messageId, index: 4 });
    for (const token of [
      good.slice(0, -1) + (good.endsWith('A') ? 'B' : 'A'),
      s.engine.ctx.signer.sign({ purpose: 'reason', id: messageId, index: 99 }),
      s.engine.ctx.signer.sign({ purpose: 'click', id: messageId, index: 4 }),
    ]) {
      expect((await get(s, `/r/${token}`, { 'user-agent': UA.chromeMac })).status).toBe(404);
      expect(
        (
          await fetch(`${s.url}/r/${token}`, {
            method: 'POST',
            body: 'confirm=1',
            headers: { 'content-type': 'application/x-www-form-urlencoded' },
          })
        ).status,
      ).toBe(404);
    }
    await s.flush();
    expect((await events(s)).filter((r) => r.message_id === messageId)).toHaveLength(0);
    expect((await customer(customerId)).churn_reason).toBeNull();
  });
});
