import { describe, expect, it } from 'vitest';
import { runExperiment } from '../../src/demo/experiment.js';
import { sqliteUrl } from '../helpers/backends.js';

/**
 * The synthetic shop's truth: the step's own mail converts 4%, the "gift" subject 10%, the
 * half-price coupon 14% but gives half of every order away. Best conversion: half-off; best net
 * revenue per send: gift (500 vs 350 vs 200 per send of a 50.00 basket). The holdout buys at 2%.
 */
const TRUTHS = {
  control: { conversion: 0.04 },
  gift: { conversion: 0.1 },
  'half-off': { conversion: 0.14, couponPercent: 50 },
};

describe('a seeded experiment with a known true effect per variant', () => {
  it('reports an uplift interval that covers the true effect, and the bandit ends with most traffic on the best net-revenue variant', async () => {
    const r = await runExperiment({
      database: sqliteUrl(),
      seed: 7,
      customers: 2000,
      waves: 10,
      holdout: 0.2,
      holdoutConversion: 0.02,
      basketMinor: 5000,
      truths: TRUTHS,
    });
    const s = r.report.sequences[0]!;
    expect(s.optimize).toBe('net_revenue');
    const u = s.uplift;
    expect(u.available).toBe(true);
    expect(u.holdout.enrolled).toBeGreaterThan(300);
    const [lo, hi] = u.absoluteCi95!;
    expect(lo).toBeLessThanOrEqual(r.trueUplift);
    expect(hi).toBeGreaterThanOrEqual(r.trueUplift);
    expect(u.significant).toBe(true); // a true uplift of about +6 pp is clearly found

    const variants = s.steps[0]!.variants;
    const gift = variants.find((v) => v.variantId === 'gift')!;
    const others = variants.filter((v) => v.variantId !== 'gift');
    // Most traffic: the largest share of all sends, and the current allocation well over half.
    expect(r.sends.gift).toBeGreaterThan(r.sends.control! + r.sends['half-off']!);
    expect(gift.allocation).toBeGreaterThan(0.6);
    for (const v of others) expect(v.allocation).toBeGreaterThanOrEqual(0.05 - 1e-9); // the exploration floor
    // Half-off converts best but earns less per send: net revenue, not conversion, decides.
    const half = variants.find((v) => v.variantId === 'half-off')!;
    expect(half.netRevenuePerSendPosterior!.mean).toBeLessThan(gift.netRevenuePerSendPosterior!.mean);
    const giftCi = gift.netRevenuePerSendPosterior!.ci95;
    expect(giftCi[0]).toBeLessThanOrEqual(r.trueNetPerSend.gift!);
    expect(giftCi[1]).toBeGreaterThanOrEqual(r.trueNetPerSend.gift!);
  }, 120_000);
});
