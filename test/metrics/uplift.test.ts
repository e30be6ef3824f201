import { describe, expect, it } from 'vitest';
import {
  chiSquareQuantile,
  conversionUplift,
  newcombeInterval,
  revenueUplift,
  welchRevenueUplift,
  wilsonInterval,
  type ConversionUplift,
  type UpliftUnavailable,
  type WelchRevenueUplift,
} from '../../src/metrics/stats/index.js';

/** Narrows an uplift result to its available branch (fails the test otherwise). */
function ok<R extends { available: true } | UpliftUnavailable>(r: R): Exclude<R, UpliftUnavailable> {
  if (!r.available) throw new Error(`uplift unavailable: ${(r as UpliftUnavailable).reason}`);
  return r as Exclude<R, UpliftUnavailable>;
}

describe('wilsonInterval', () => {
  it('10/100 at z = 1.96 is [0.0552, 0.1744]', () => {
    // p = 0.1, z² = 3.8416, z²/n = 0.038416, denominator 1.038416
    // centre = (0.1 + 0.019208) / 1.038416 = 0.114798
    // half   = 1.96 / 1.038416 · √(0.1·0.9/100 + 3.8416/40000) = 1.887491 · √0.00099604 = 0.059570
    // → [0.055228, 0.174367]
    const [lo, hi] = wilsonInterval(10, 100, 1.96);
    expect(lo).toBeCloseTo(0.0552, 4);
    expect(hi).toBeCloseTo(0.1744, 4);
  });

  it('defaults to z = Φ⁻¹(0.975) = 1.959964, which moves 10/100 only in the 6th decimal', () => {
    const [lo, hi] = wilsonInterval(10, 100);
    expect(lo).toBeCloseTo(0.0552291, 6);
    expect(hi).toBeCloseTo(0.1743657, 6);
  });

  it('0/n and n/n stay inside [0, 1] and are pinned at the boundary', () => {
    // 0/10: centre = half = (1.96²/20) / (1 + 1.96²/10) = 0.19208 / 1.38416 = 0.138770 → upper 0.277540
    expect(wilsonInterval(0, 10, 1.96)[0]).toBe(0);
    expect(wilsonInterval(0, 10, 1.96)[1]).toBeCloseTo(0.27754, 5);
    // n/n mirrors it: 1 − 0.277540 = 0.722460
    expect(wilsonInterval(10, 10, 1.96)).toEqual([expect.closeTo(0.72246, 5), 1]);
  });

  it('n = 0 carries no information; bad counts are refused', () => {
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
    expect(() => wilsonInterval(5, 4)).toThrow(RangeError);
    expect(() => wilsonInterval(1.5, 4)).toThrow(RangeError);
  });
});

describe('newcombeInterval (hybrid score, Newcombe 1998 method 10)', () => {
  it("reproduces Newcombe's published examples to 4 decimals", () => {
    // (a) 56/70 − 48/80 = 0.8 − 0.6 = 0.2000, published 95% CI 0.0524 to 0.3339.
    //   Wilson(56/70) = [0.69183, 0.87695], Wilson(48/80) = [0.49045, 0.70038]
    //   low  = 0.2 − √((0.8 − 0.69183)² + (0.70038 − 0.6)²) = 0.2 − √(0.011701 + 0.010076) = 0.2 − 0.14757 = 0.0524
    //   high = 0.2 + √((0.87695 − 0.8)² + (0.6 − 0.49045)²) = 0.2 + √(0.005921 + 0.012001) = 0.2 + 0.13387 = 0.3339
    const [aLo, aHi] = newcombeInterval(56, 70, 48, 80);
    expect(aLo).toBeCloseTo(0.0524, 4);
    expect(aHi).toBeCloseTo(0.3339, 4);
    // (b) 9/10 − 3/10 = 0.6000, published 0.1705 to 0.8090.
    const [bLo, bHi] = newcombeInterval(9, 10, 3, 10);
    expect(bLo).toBeCloseTo(0.1705, 4);
    expect(bHi).toBeCloseTo(0.809, 4);
  });

  it('boundary counts: 0/10 − 0/20 and 10/10 − 0/10', () => {
    // 0/10 − 0/20: low = 0 − upper Wilson(0/20) = −0.1611, high = upper Wilson(0/10) = 0.2775
    const [lo, hi] = newcombeInterval(0, 10, 0, 20);
    expect(lo).toBeCloseTo(-0.1611, 4);
    expect(hi).toBeCloseTo(0.2775, 4);
    // 10/10 − 0/10: low = 1 − √(0.2775² + 0.2775²) = 1 − 0.3925 = 0.6075, high = 1 exactly
    expect(newcombeInterval(10, 10, 0, 10)).toEqual([expect.closeTo(0.6075, 4), 1]);
  });
});

describe('conversionUplift', () => {
  it('120/1000 treated vs 80/1000 holdout', () => {
    const r: ConversionUplift = ok(
      conversionUplift({ treated: { n: 1000, conversions: 120 }, holdout: { n: 1000, conversions: 80 } }),
    );
    expect(r.treatedRate).toBe(0.12);
    expect(r.holdoutRate).toBe(0.08);
    expect(r.absolute).toBeCloseTo(0.04, 12);
    expect(r.relative).toBeCloseTo(0.5, 12); // 0.12 / 0.08 − 1
    // Newcombe: Wilson(120/1000) = [0.10130, 0.14161], Wilson(80/1000) = [0.06475, 0.09847]
    //   low  = 0.04 − √((0.12 − 0.10130)² + (0.09847 − 0.08)²) = 0.04 − √(0.01870² + 0.01847²) = 0.04 − 0.02628 = 0.0137
    //   high = 0.04 + √((0.14161 − 0.12)² + (0.08 − 0.06475)²) = 0.04 + √(0.02161² + 0.01525²) = 0.04 + 0.02645 = 0.0664
    expect(r.ci95[0]).toBeCloseTo(0.0137, 4);
    expect(r.ci95[1]).toBeCloseTo(0.0664, 4);
    expect(r.significant).toBe(true);
    // Katz: ln 1.5 = 0.405465, se = √(1/120 − 1/1000 + 1/80 − 1/1000) = √0.0188333 = 0.137235
    //   exp(0.405465 ∓ 1.959964 · 0.137235) − 1 = exp(0.136489) − 1, exp(0.674441) − 1 = 0.1462, 0.9629
    expect(r.relativeCi95![0]).toBeCloseTo(0.1462, 4);
    expect(r.relativeCi95![1]).toBeCloseTo(0.9629, 4);
    // z-test: pooled 0.1, se = √(0.1 · 0.9 · (1/1000 + 1/1000)) = √0.00018 = 0.0134164
    //   z = 0.04 / 0.0134164 = 2.98142, p = 2 · Φ(−2.98142) = 0.002869
    expect(r.z).toBeCloseTo(2.98142, 5);
    expect(r.pValue).toBeCloseTo(0.002869, 6);
  });

  it('no difference → interval straddles 0, p = 1', () => {
    const r = ok(conversionUplift({ treated: { n: 500, conversions: 25 }, holdout: { n: 500, conversions: 25 } }));
    expect(r.absolute).toBe(0);
    expect(r.ci95[0]).toBeLessThan(0);
    expect(r.ci95[1]).toBeGreaterThan(0);
    expect(r.significant).toBe(false);
    expect(r.pValue).toBeCloseTo(1, 12);
    expect(r.relative).toBe(0);
  });

  it('holdout with no conversions: relative figures are null, the absolute interval still exists', () => {
    const r = ok(conversionUplift({ treated: { n: 100, conversions: 10 }, holdout: { n: 50, conversions: 0 } }));
    expect(r.relative).toBeNull();
    expect(r.relativeCi95).toBeNull();
    expect(r.absolute).toBeCloseTo(0.1, 12);
    expect(Number.isFinite(r.ci95[0]) && Number.isFinite(r.ci95[1])).toBe(true);
  });

  it('treated with no conversions: relative −100%, interval from the 0.5 correction', () => {
    const r = ok(conversionUplift({ treated: { n: 50, conversions: 0 }, holdout: { n: 100, conversions: 5 } }));
    expect(r.relative).toBe(-1);
    // treated cell 0.5 of 51: ln((0.5/51)/0.05) = ln 0.196078 = −1.629241
    //   se = √(1/0.5 − 1/51 + 1/5 − 1/100) = √2.170392 = 1.473225
    //   z · se = 1.959964 · 1.473225 = 2.887468 → exp(−1.629241 ∓ 2.887468) − 1 = exp(−4.516709) − 1, exp(1.258227) − 1 = −0.9891, 2.5192
    expect(r.relativeCi95![0]).toBeCloseTo(-0.9891, 4);
    expect(r.relativeCi95![1]).toBeCloseTo(2.5192, 4);
    // pooled 5/150, se = √(0.033333 · 0.966667 · (1/50 + 1/100)) = 0.031091, z = −0.05 / 0.031091 = −1.60817
    expect(r.z).toBeCloseTo(-1.60817, 5);
    expect(r.pValue).toBeCloseTo(0.1078, 5);
  });

  it('everyone or no one converting gives p = 1 rather than NaN', () => {
    expect(
      ok(conversionUplift({ treated: { n: 10, conversions: 0 }, holdout: { n: 10, conversions: 0 } })).pValue,
    ).toBe(1);
    expect(
      ok(conversionUplift({ treated: { n: 10, conversions: 10 }, holdout: { n: 5, conversions: 5 } })).pValue,
    ).toBe(1);
  });

  it('empty groups are reported, not computed', () => {
    expect(conversionUplift({ treated: { n: 100, conversions: 3 }, holdout: { n: 0, conversions: 0 } })).toEqual({
      available: false,
      reason: 'no holdout',
    });
    expect(conversionUplift({ treated: { n: 0, conversions: 0 }, holdout: { n: 10, conversions: 1 } })).toEqual({
      available: false,
      reason: 'no treated',
    });
    expect(conversionUplift({ treated: { n: 0, conversions: 0 }, holdout: { n: 0, conversions: 0 } })).toEqual({
      available: false,
      reason: 'no enrollees',
    });
    expect(() => conversionUplift({ treated: { n: 10, conversions: 11 }, holdout: { n: 10, conversions: 1 } })).toThrow(
      /treated: conversions/,
    );
  });
});

describe('welchRevenueUplift (textbook baseline)', () => {
  // Treated: 10 enrollees, 4 bought (40, 25, 60, 35): sum 160, mean 16.0, sumSq 7050
  //   s² = (7050 − 160²/10) / 9 = 4490 / 9 = 498.889
  // Holdout: 8 enrollees, 1 bought (30): sum 30, mean 3.75, sumSq 900
  //   s² = (900 − 30²/8) / 7 = 787.5 / 7 = 112.5
  // se = √(498.889/10 + 112.5/8) = √(49.8889 + 14.0625) = √63.9514 = 7.996961
  // df = 63.9514² / (49.8889²/9 + 14.0625²/7) = 4089.78 / (276.543 + 28.2506) = 13.4181
  // t(0.975, 13.4181) = 2.153545 → 12.25 ± 17.22182 = [−4.97182, 29.47182]
  // Welch t = 12.25 / 7.996961 = 1.53183, two-sided p = 0.14880
  const treated = [0, 0, 40, 0, 25, 0, 0, 60, 0, 35];
  const holdout = [0, 0, 0, 30, 0, 0, 0, 0];

  it('per-enrollee revenue, Welch interval and incremental revenue from raw values', () => {
    const r: WelchRevenueUplift = ok(welchRevenueUplift({ treated, holdout }));
    expect(r.treatedPerEnrollee).toBe(16);
    expect(r.holdoutPerEnrollee).toBe(3.75);
    expect(r.difference).toBe(12.25);
    expect(r.df).toBeCloseTo(13.4181, 4);
    expect(r.ci95[0]).toBeCloseTo(-4.97182, 4);
    expect(r.ci95[1]).toBeCloseTo(29.47182, 4);
    expect(r.significant).toBe(false);
    expect(r.pValue).toBeCloseTo(0.1488, 5);
    // 12.25 per enrollee × 10 treated enrollees
    expect(r.incrementalRevenue).toBe(122.5);
    expect(r.incrementalCi95[0]).toBeCloseTo(-49.7182, 3);
    expect(r.incrementalCi95[1]).toBeCloseTo(294.7182, 3);
  });

  it('the {n, sum, sumSq} form gives the same answer', () => {
    const fromArrays = ok(welchRevenueUplift({ treated, holdout }));
    const fromSums = ok(
      welchRevenueUplift({ treated: { n: 10, sum: 160, sumSq: 7050 }, holdout: { n: 8, sum: 30, sumSq: 900 } }),
    );
    expect(fromSums.difference).toBeCloseTo(fromArrays.difference, 12);
    expect(fromSums.ci95[0]).toBeCloseTo(fromArrays.ci95[0], 9);
    expect(fromSums.ci95[1]).toBeCloseTo(fromArrays.ci95[1], 9);
    expect(fromSums.df).toBeCloseTo(fromArrays.df, 9);
  });

  it('a large clear uplift is significant', () => {
    // 2000 vs 2000: means 5 and 3, both s² = 100 → se = √(0.05 + 0.05) = 0.316228, df ≈ 3998
    //   t(0.975, 3998) = 1.960558 → 2 ± 1.960558 · 0.316228 = 2 ± 0.619983 = [1.380017, 2.619983]
    const r = ok(
      welchRevenueUplift({
        treated: { n: 2000, sum: 10_000, sumSq: 100 * 1999 + 2000 * 25 },
        holdout: { n: 2000, sum: 6000, sumSq: 100 * 1999 + 2000 * 9 },
      }),
    );
    expect(r.df).toBeCloseTo(3998, 6);
    expect(r.ci95[0]).toBeCloseTo(1.38001, 4);
    expect(r.ci95[1]).toBeCloseTo(2.61999, 4);
    expect(r.significant).toBe(true);
    expect(r.incrementalRevenue).toBe(4000);
  });

  it('constant revenue in both groups: the difference is exact', () => {
    const r = ok(welchRevenueUplift({ treated: [5, 5, 5], holdout: [2, 2] }));
    expect(r.ci95).toEqual([3, 3]);
    expect(r.pValue).toBe(0);
    expect(r.significant).toBe(true);
  });

  it('empty or single-enrollee groups are reported, not computed', () => {
    expect(welchRevenueUplift({ treated: [1, 2, 3], holdout: [] })).toEqual({ available: false, reason: 'no holdout' });
    expect(welchRevenueUplift({ treated: { n: 0, sum: 0, sumSq: 0 }, holdout: [1, 2] })).toEqual({
      available: false,
      reason: 'no treated',
    });
    expect(welchRevenueUplift({ treated: [4], holdout: [1, 2] })).toEqual({
      available: false,
      reason: 'too few enrollees',
    });
    expect(() => welchRevenueUplift({ treated: { n: 3, sum: 30, sumSq: 10 }, holdout: [1, 2] })).toThrow(
      /inconsistent/,
    );
    expect(() => welchRevenueUplift({ treated: [1, Number.NaN], holdout: [1, 2] })).toThrow(RangeError);
  });
});

describe('revenueUplift (two-part lognormal MOVER)', () => {
  it('chi-square quantiles match tables', () => {
    expect(chiSquareQuantile(0.975, 4)).toBeCloseTo(11.143287, 5);
    expect(chiSquareQuantile(0.025, 4)).toBeCloseTo(0.484419, 5);
    expect(chiSquareQuantile(0.975, 1)).toBeCloseTo(5.023886, 5);
  });

  it('builds the interval from the buyers share and the log order values', () => {
    // Treated: 10 enrollees, 4 bought 40, 25, 60, 35; holdout: 8 enrollees, 2 bought 30, 20.
    const r = ok(revenueUplift({ treated: [0, 0, 40, 0, 25, 0, 0, 60, 0, 35], holdout: [0, 0, 0, 30, 0, 0, 20, 0] }));
    expect(r.difference).toBeCloseTo(16 - 6.25, 12);
    expect(r.incrementalRevenue).toBeCloseTo(97.5, 9);
    // Tiny groups: the interval is wide and asymmetric, and honest about it.
    expect(r.ci95[0]).toBeLessThan(0);
    expect(r.ci95[1]).toBeGreaterThan(2 * r.difference);
    expect(r.significant).toBe(false);
    expect(r.incrementalCi95[0]).toBeCloseTo(r.ci95[0] * 10, 9);
  });

  it('the sums form gives the same answer as the values', () => {
    const values = [0, 0, 40, 0, 25, 0, 0, 60, 0, 35];
    const logs = [40, 25, 60, 35].map(Math.log);
    const sums = {
      n: 10,
      sum: 160,
      sumSq: 7050,
      buyers: 4,
      logSum: logs.reduce((a, b) => a + b, 0),
      logSumSq: logs.reduce((a, b) => a + b * b, 0),
    };
    const holdout = [0, 0, 0, 30, 0, 0, 20, 0];
    const a = ok(revenueUplift({ treated: values, holdout }));
    const b = ok(revenueUplift({ treated: sums, holdout }));
    expect(b.ci95[0]).toBeCloseTo(a.ci95[0], 9);
    expect(b.ci95[1]).toBeCloseTo(a.ci95[1], 9);
  });

  it('a clear uplift on large groups is significant', () => {
    const big = (n: number, buyers: number, value: number) =>
      Array.from({ length: n }, (_, i) => (i < buyers ? value * (1 + (i % 7) / 10) : 0));
    const r = ok(revenueUplift({ treated: big(5000, 500, 50), holdout: big(5000, 250, 50) }));
    expect(r.significant).toBe(true);
    expect(r.ci95[0]).toBeGreaterThan(0);
  });

  it('needs two buyers per group; refuses negative amounts', () => {
    expect(revenueUplift({ treated: [0, 10, 20], holdout: [0, 0, 5] })).toEqual({
      available: false,
      reason: 'too few buyers',
    });
    expect(revenueUplift({ treated: [1, 2, 3], holdout: [] })).toEqual({ available: false, reason: 'no holdout' });
    expect(() => revenueUplift({ treated: [1, -2, 3], holdout: [1, 2] })).toThrow(/treated: revenue values/);
  });
});
