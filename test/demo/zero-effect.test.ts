import { describe, expect, it } from 'vitest';
import { runZeroEffect } from '../../src/demo/zero-effect.js';
import { sqliteUrl } from '../helpers/backends.js';

/**
 * The known truth is no effect: mailed and holdout customers buy alike (heavy-tailed amounts,
 * lognormal σ 1.5), while the mail carries a coupon valid longer than the goal window and 15% of
 * the mailed unsubscribe before buying. One conversion rule for both groups (intention to treat,
 * coupons only credit) keeps the report from finding an effect that is not there: a 95% interval
 * may exclude zero by chance in about 2 of 40 seeds, and the check allows 4.
 */
describe('the known-truth check with no effect (coupons on, 15% unsubscribes)', () => {
  it('calls conversion and revenue uplift significant in at most 4 of 40 seeds', async () => {
    const seeds = Array.from({ length: 40 }, (_, i) => i + 1);
    const results = await runZeroEffect({ database: sqliteUrl(), seeds, customers: 300, holdout: 0.5 });
    expect(results).toHaveLength(40);
    for (const r of results) {
      expect(r.uplift.available).toBe(true);
      expect(r.couponOrders).toBeGreaterThan(30); // mailed buyers did use the coupon
      expect(r.unsubscribed / r.uplift.mailed.enrolled).toBeGreaterThan(0.05);
    }
    const conversion = results.filter((r) => r.uplift.significant).length;
    const revenue = results.filter((r) => r.uplift.revenueSignificant).length;
    expect(conversion).toBeLessThanOrEqual(4);
    expect(revenue).toBeLessThanOrEqual(4);
    // Not a check that never fires: the intervals are not degenerate, and they straddle zero around the truth.
    const mean = results.reduce((s, r) => s + r.uplift.absolute!, 0) / results.length;
    expect(Math.abs(mean)).toBeLessThan(0.01);
  }, 180_000);
});
