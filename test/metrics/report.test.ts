import { afterEach, describe, expect, it } from 'vitest';
import { DAY, type Engine } from '../../src/index.js';
import { type ManualClock } from '../../src/testing.js';
import { dialects } from '../helpers/backends.js';
import { engineWith, head, loaded, shop } from '../sequences/helpers.js';

const SEQ = `${head('report')}audience: { dormant: { min_days: 45 } }
goal: { purchase: { within: 30d, min_amount_ratio: 0.5 } }
holdout: 20%
steps:
  - id: hello
    template: winback/miss-you
    subject: "Hello"
    variants:
      - { id: b, subject: "Hello B" }
  - id: offer
    wait: 7d
    template: winback/offer
    subject: "Offer"
    coupon: { percent: 20, valid: 14d }
`;

describe.each(dialects)('success report on $name (hand-computed)', ({ url }) => {
  let engine: Engine | undefined;
  afterEach(async () => {
    await engine?.close();
    engine = undefined;
  });

  it('counts funnels per sequence, step, variant and churn reason, attributes by window, ratio and coupon, and compares with the holdout', async () => {
    let clock: ManualClock;
    ({ engine, clock } = await engineWith(await url(), [loaded(SEQ)]));
    const e = engine;
    await shop(e, [
      { id: 'c1', daysAgo: [100], total: 5000, churnReason: 'price' },
      { id: 'c2', daysAgo: [100], total: 5000, churnReason: 'price' },
      { id: 'c3', daysAgo: [100], total: 5000 },
      { id: 'c4', daysAgo: [100], total: 5000 },
      { id: 'c5', daysAgo: [100], total: 5000 },
      { id: 'c6', daysAgo: [100], total: 5000 },
    ]);
    expect((await e.enrollAudience('report')).enrolled).toBe(6);
    // The holdout draw is a hash; the test fixes who is in it so every number can be worked out by hand.
    const cid = async (ext: string) => (await e.customers.get(ext))!.id;
    const ids = Object.fromEntries(
      await Promise.all(['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map(async (c) => [c, await cid(c)] as const)),
    );
    for (const [c, h] of Object.entries({ c1: 0, c2: 0, c3: 0, c4: 0, c5: 1, c6: 1 })) {
      await e.ctx.k
        .updateTable('enrollments')
        .set({ holdout: h, next_due_at: clock.now() })
        .where('customer_id', '=', ids[c]!)
        .execute();
    }
    await e.runDue();
    const msg = async (c: string, step: string) =>
      (
        await e.ctx.k
          .selectFrom('messages')
          .select('id')
          .where('customer_id', '=', ids[c]!)
          .where('step_id', '=', step)
          .executeTakeFirstOrThrow()
      ).id;
    // Fix the variants as well: c1, c2 got the step itself, c3, c4 variant b.
    for (const [c, v] of Object.entries({ c1: null, c2: null, c3: 'b', c4: 'b' }))
      await e.ctx.k
        .updateTable('messages')
        .set({ variant_id: v })
        .where('id', '=', await msg(c, 'hello'))
        .execute();

    const ev = (c: string, step: string, type: 'open' | 'click' | 'complaint' | 'delivered', machine = false) =>
      msg(c, step).then((messageId) => e.events.record({ messageId, type, source: 'test', machine }));
    await ev('c1', 'hello', 'delivered');
    await ev('c1', 'hello', 'open');
    await ev('c1', 'hello', 'click');
    await ev('c1', 'hello', 'click'); // a second click of the same mail counts once
    await ev('c2', 'hello', 'open', true); // Apple MPP prefetch only
    await ev('c3', 'hello', 'open', true);
    await ev('c3', 'hello', 'open');
    await ev('c3', 'hello', 'click', true); // link scanner only
    await ev('c4', 'hello', 'complaint');

    const order = (
      c: string,
      id: string,
      total: number,
      extra: { discountMinor?: number; couponCode?: string | null } = {},
    ) =>
      e.orders.record({ externalId: id, customerExternalId: c, orderedAt: clock.now(), totalMinor: total, ...extra });
    clock.advance(2 * DAY);
    expect((await order('c1', 'o1', 3000)).conversions).toHaveLength(1); // 3000 ≥ 0.5 × 5000
    expect((await order('c2', 'o2', 2000)).conversions).toHaveLength(0); // 2000 < 2500: not the goal
    expect((await order('c5', 'o5', 4000)).conversions).toHaveLength(1); // holdout converts too: the baseline

    clock.advance(6 * DAY);
    await e.runDue(); // offer: c2 and c3 (c1 converted, c4 complained)
    const coupon = await e.ctx.k
      .selectFrom('coupons')
      .select('code')
      .where('customer_id', '=', ids.c2!)
      .executeTakeFirstOrThrow();
    clock.advance(DAY);
    // A coupon never loosens the goal: under the amount ratio it converts nobody (as for the holdout).
    expect((await order('c2', 'o2c', 800, { discountMinor: 200, couponCode: coupon.code })).conversions).toHaveLength(
      0,
    );
    // A purchase that meets the goal with the coupon credits the mail that carried it.
    const redeemed = await order('c2', 'o2b', 2600, { discountMinor: 200, couponCode: coupon.code });
    expect(redeemed.conversions.map((c) => c.attributedBy)).toEqual(['coupon']);
    clock.advance(25 * DAY);
    expect((await order('c3', 'o3', 5000)).conversions).toHaveLength(0); // day 34: outside the 30-day window

    const report = await e.report();
    const s = report.sequences.find((x) => x.sequenceId === 'report')!;
    expect(s.funnel).toMatchObject({
      enrolled: 4,
      holdout: 2,
      sent: 6,
      delivered: 1,
      humanOpens: 2,
      machineOpens: 1,
      humanClicks: 1,
      botClicks: 1,
      complaints: 1,
      unsubscribes: 0,
      bounced: 0,
      conversions: 2,
      revenueMinor: 5600,
      discountMinor: 200,
      netRevenueMinor: 5400,
    });
    expect(s.funnel.rates.conversion).toBe(0.5);
    expect(s.funnel.rates.open).toBeCloseTo(2 / 6, 12);
    expect(s.funnel.rates.clickToOpen).toBe(0.5);
    expect(s.funnel.rates.netRevenuePerEnrolledMinor).toBe(1350);

    const [hello, offer] = s.steps;
    expect(hello).toMatchObject({
      stepId: 'hello',
      index: 0,
      funnel: { enrolled: 4, sent: 4, conversions: 2, revenueMinor: 5600 },
    });
    expect(offer).toMatchObject({
      stepId: 'offer',
      index: 1,
      funnel: { sent: 2, conversions: 1, revenueMinor: 2600, discountMinor: 200, netRevenueMinor: 2400 },
      variants: [],
    });
    const [control, b] = hello!.variants;
    expect(control).toMatchObject({
      variantId: null,
      label: 'control',
      trials: 2,
      successes: 2,
      creditedConversions: 1,
      funnel: { sent: 2, humanOpens: 1, machineOpens: 1, conversions: 2 },
    });
    expect(b).toMatchObject({
      variantId: 'b',
      trials: 2,
      successes: 0,
      creditedConversions: 0,
      funnel: { sent: 2, humanOpens: 1, botClicks: 1, complaints: 1, conversions: 0 },
    });
    // Beta(1 + 2, 1 + 0) and Beta(1, 3): means 3/4 and 1/4.
    expect(control!.conversionPosterior.mean).toBeCloseTo(0.75, 12);
    expect(b!.conversionPosterior.mean).toBeCloseTo(0.25, 12);
    expect(control!.allocation + b!.allocation).toBeCloseTo(1, 12);
    expect(control!.allocation).toBeGreaterThan(b!.allocation);

    const price = s.byChurnReason.find((r) => r.churnReason === 'price')!;
    const unknown = s.byChurnReason.find((r) => r.churnReason === 'unknown')!;
    expect(price).toMatchObject({ enrolled: 2, holdout: 0, sent: 3, conversions: 2, revenueMinor: 5600 });
    expect(unknown).toMatchObject({ enrolled: 2, holdout: 2, sent: 3, conversions: 0, complaints: 1 });
    expect(s.byVersion).toHaveLength(1);
    expect(s.byVersion[0]).toMatchObject({ version: 1, enrolled: 4, conversions: 2 });

    // Uplift: 2/4 mailed against 1/2 holdout: no difference, and the interval says so.
    expect(s.uplift).toMatchObject({
      available: true,
      reason: null,
      holdoutShare: 0.2,
      absolute: 0,
      significant: false,
      relative: 0,
    });
    expect(s.uplift.mailed).toMatchObject({ enrolled: 4, conversions: 2, conversionRate: 0.5, revenueMinor: 5600 });
    expect(s.uplift.holdout).toMatchObject({ enrolled: 2, conversions: 1, conversionRate: 0.5, revenueMinor: 4000 });
    expect(s.uplift.absoluteCi95![0]).toBeLessThan(0);
    expect(s.uplift.absoluteCi95![1]).toBeGreaterThan(0);
    expect(s.uplift.revenuePerEnrolledDifferenceMinor).toBe(1400 - 2000);
    expect(s.uplift.incrementalRevenueMinor).toBe((1400 - 2000) * 4);
    // One holdout buyer: no revenue interval yet, and the report says why instead of guessing.
    expect(s.uplift).toMatchObject({
      revenuePerEnrolledDifferenceCi95: null,
      revenueSignificant: false,
      revenueVerdict: 'no interval yet (needs 2 buyers in each group)',
    });
    // What 4 against 2 enrolments could detect at a 50% baseline: 2.8016 · √(0.25 · (1/4 + 1/2)) = 1.2131.
    expect(s.uplift.minimumDetectableEffect).toBeCloseTo(1.2131, 3);
    expect(s.uplift.verdict).toBe('not significant: too few in the holdout to see less than +121.3 pp');

    // The rolling 30-day window (now day 34) holds only the two offers of day 8: the complaint of day 0 has left it.
    expect(s.deliverability).toMatchObject({
      sent: 2,
      complaints: 0,
      hardBounces: 0,
      level: 'ok',
      windowDays: 30,
      windowStart: new Date(clock.now() - 30 * DAY).toISOString(),
    });
    expect(s.deliverability.bySender).toEqual([expect.objectContaining({ sender: 'memory', sent: 2, complaints: 0 })]);

    expect(
      report.recentlyReturned.map((r) => [
        r.externalId,
        r.stepId,
        r.variantId,
        r.attributedBy,
        r.revenueMinor,
        r.discountMinor,
        r.netRevenueMinor,
      ]),
    ).toEqual([
      ['c2', 'offer', null, 'coupon', 2600, 200, 2400],
      ['c1', 'hello', null, 'goal_window', 3000, 0, 3000],
    ]);
    expect(report.since).toBeNull();
    expect(new Date(report.generatedAt).getTime()).toBe(clock.now());

    // --since after every enrolment: nothing counted, nothing claimed.
    const later = await e.report({ sequence: 'report', since: clock.now() });
    expect(later.sequences).toHaveLength(1);
    expect(later.sequences[0]!.funnel).toMatchObject({ enrolled: 0, sent: 0, conversions: 0 });
    expect(later.sequences[0]!.uplift).toMatchObject({ available: false, reason: 'no holdout enrolments yet' });
    expect(later.recentlyReturned).toEqual([]);
  });

  it('says "no holdout" for a sequence without one instead of claiming uplift', async () => {
    ({ engine } = await engineWith(await url(), [
      loaded(
        `${head('plain')}audience: { dormant: { min_days: 45 } }\nsteps:\n  - { id: one, template: winback/miss-you, subject: "x" }\n`,
      ),
    ]));
    await shop(engine, [{ id: 'a', daysAgo: [100] }]);
    await engine.enrollAudience('plain');
    await engine.runDue();
    const s = (await engine.report({ sequence: 'plain' })).sequences[0]!;
    expect(s.uplift).toMatchObject({
      available: false,
      reason: 'no holdout',
      holdoutShare: 0,
      absolute: null,
      absoluteCi95: null,
      significant: false,
      incrementalRevenueMinor: null,
    });
    expect(s.funnel).toMatchObject({ enrolled: 1, sent: 1 });
    expect(s.optimize).toBe('conversion');
  });
});
