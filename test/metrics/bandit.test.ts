import { describe, expect, it } from 'vitest';
import {
  applyExplorationFloor,
  chooseVariant,
  mulberry32,
  posteriorSummary,
  thompsonAllocation,
  type BanditVariant,
} from '../../src/metrics/stats/index.js';

describe('thompsonAllocation', () => {
  it('seeded simulation: 5,000 rounds move > 70% of traffic to the best of 0.05 / 0.10 / 0.04, losers keep the floor', () => {
    const rng = mulberry32(20240601);
    const trueRate: Record<string, number> = { a: 0.05, b: 0.1, c: 0.04 };
    const state: BanditVariant[] = ['a', 'b', 'c'].map((id) => ({ id, trials: 0, successes: 0 }));
    const floor = 0.05;
    // Each round: fresh allocation from the posterior (few draws per round keeps the test fast;
    // Thompson sampling proper uses one), one send to a sampled variant, a simulated outcome.
    for (let round = 0; round < 5000; round++) {
      const allocation = thompsonAllocation(state, { draws: 40, minExplorationShare: floor, rng });
      const id = chooseVariant(allocation, rng);
      const v = state.find((s) => s.id === id)!;
      v.trials++;
      if (rng() < trueRate[id]!) v.successes++;
    }
    const final = thompsonAllocation(state, { minExplorationShare: floor, rng });
    const share = Object.fromEntries(final.map((a) => [a.id, a.share]));
    expect(share.b).toBeGreaterThan(0.7);
    for (const a of final) expect(a.share).toBeGreaterThanOrEqual(floor);
    expect(final.reduce((sum, a) => sum + a.share, 0)).toBeCloseTo(1, 12);
    // Over the whole run the best variant also got most of the sends, and the floor kept the others alive.
    const sends = Object.fromEntries(state.map((s) => [s.id, s.trials]));
    expect(sends.b).toBeGreaterThan(0.7 * 5000);
    expect(Math.min(sends.a!, sends.c!)).toBeGreaterThan(0.04 * 5000);
  });

  it('net revenue: the discount converts more but earns less per send, and loses', () => {
    // Full price: 5000 sends, 200 conversions (4.0%), net €12,000 (€60 an order) → €2.40 per send.
    // 50% off:    5000 sends, 300 conversions (6.0%), net €9,000 (€30 an order)  → €1.80 per send.
    const variants: BanditVariant[] = [
      { id: 'full-price', trials: 5000, successes: 200, rewardSum: 12_000, rewardLog: same(200, 60) },
      { id: 'half-off', trials: 5000, successes: 300, rewardSum: 9_000, rewardLog: same(300, 30) },
    ];
    const byRevenue = thompsonAllocation(variants, { rng: mulberry32(7), minExplorationShare: 0.05, draws: 5000 });
    // Every order of a variant is worth the same here, so the value part is nearly certain and
    // the race is 2.40 against 1.80 per send on the conversion counts alone.
    expect(byRevenue[0]!.probabilityBest).toBeGreaterThan(0.97);
    expect(byRevenue[0]!.share).toBeGreaterThan(byRevenue[1]!.share);
    expect(byRevenue[1]!.share).toBe(0.05);

    // Judged on conversion alone the discount would win: 6.0% vs 4.0%, z ≈ 0.02 / 0.00435 = 4.6.
    const byConversion = thompsonAllocation(
      variants.map(({ id, trials, successes }) => ({ id, trials, successes })),
      { rng: mulberry32(7), draws: 5000 },
    );
    expect(byConversion[1]!.probabilityBest).toBeGreaterThan(0.999);
  });

  it('with no conversion anywhere yet, net revenue ranks by the conversion posterior alone', () => {
    const variants = [
      { id: 'x', trials: 10, successes: 0, rewardSum: 0, rewardLog: same(0, 1) },
      { id: 'y', trials: 10, successes: 0, rewardSum: 0, rewardLog: same(0, 1) },
    ];
    const allocation = thompsonAllocation(variants, { rng: mulberry32(3), draws: 20_000 });
    // Identical posteriors: each is best half of the time (Monte Carlo sd 0.0035).
    expect(allocation[0]!.probabilityBest).toBeCloseTo(0.5, 1);
  });

  it('refuses inconsistent input', () => {
    expect(() => thompsonAllocation([])).toThrow(/at least one variant/);
    expect(() => thompsonAllocation([{ id: 'a', trials: 5, successes: 6 }])).toThrow(/successes/);
    expect(() =>
      thompsonAllocation([
        { id: 'a', trials: 5, successes: 1 },
        { id: 'a', trials: 5, successes: 1 },
      ]),
    ).toThrow(/twice/);
    expect(() =>
      thompsonAllocation([
        { id: 'a', trials: 5, successes: 1, rewardSum: 10, rewardLog: same(1, 10) },
        { id: 'b', trials: 5, successes: 1 },
      ]),
    ).toThrow(/every variant/);
    expect(() => thompsonAllocation([{ id: 'a', trials: 5, successes: 1, rewardSum: 10 }])).toThrow(/needs rewardLog/);
    expect(() =>
      thompsonAllocation([{ id: 'a', trials: 5, successes: 1, rewardSum: 10, rewardLog: same(2, 5) }]),
    ).toThrow(/rewardLog.count/);
    expect(() => thompsonAllocation([{ id: 'a', trials: 5, successes: 0, rewardSum: 10 }])).toThrow(
      /without any success/,
    );
    expect(() => thompsonAllocation([{ id: 'a', trials: 5, successes: 1 }], { draws: 0 })).toThrow(/draws/);
  });
});

describe('applyExplorationFloor', () => {
  it('pins low shares at the floor and splits the rest in proportion, repeating as needed', () => {
    // Floor 0.2 on [0.80, 0.15, 0.05]: pin c → 0.8 of mass left for a, b ∝ 0.80 : 0.15
    //   → b = 0.8 · 0.15 / 0.95 = 0.1263 < 0.2, pin b too → a = 1 − 0.2 − 0.2 = 0.6.
    // (Raising to the floor and renormalising would give [0.667, 0.167, 0.167]: under the floor.)
    const shares = applyExplorationFloor([0.8, 0.15, 0.05], 0.2);
    expect(shares[0]).toBeCloseTo(0.6, 12);
    expect(shares[1]).toBe(0.2);
    expect(shares[2]).toBe(0.2);
    // Floor 0.1 on [0.7, 0.25, 0.05]: pin c → a, b share 0.9 ∝ 0.7 : 0.25 → 0.663158, 0.236842.
    const [a, b, c] = applyExplorationFloor([0.7, 0.25, 0.05], 0.1);
    expect(a).toBeCloseTo(0.663158, 6);
    expect(b).toBeCloseTo(0.236842, 6);
    expect(c).toBe(0.1);
  });

  it('caps the floor at equal shares, and leaves shares above it alone', () => {
    expect(applyExplorationFloor([1, 0, 0], 0.5)).toEqual([1 / 3, 1 / 3, 1 / 3]);
    expect(applyExplorationFloor([0.5, 0.3, 0.2], 0.05)).toEqual([0.5, 0.3, 0.2]);
    expect(applyExplorationFloor([0.5, 0.3, 0.2], 0)).toEqual([0.5, 0.3, 0.2]);
  });
});

describe('chooseVariant', () => {
  it('picks in proportion to the shares and never a zero share', () => {
    const rng = mulberry32(11);
    const allocation = [
      { id: 'a', share: 0.6 },
      { id: 'z', share: 0 },
      { id: 'b', share: 0.3 },
      { id: 'c', share: 0.1 },
    ];
    const counts: Record<string, number> = { a: 0, b: 0, c: 0, z: 0 };
    for (let i = 0; i < 20_000; i++) counts[chooseVariant(allocation, rng)]!++;
    // Binomial sd at 20,000 picks is at most 0.0035; allow ±0.015.
    expect(counts.a! / 20_000).toBeCloseTo(0.6, 1);
    expect(Math.abs(counts.b! / 20_000 - 0.3)).toBeLessThan(0.015);
    expect(Math.abs(counts.c! / 20_000 - 0.1)).toBeLessThan(0.015);
    expect(counts.z).toBe(0);
  });

  it('is exact at the edges of [0, 1) and refuses an empty allocation', () => {
    const allocation = [
      { id: 'a', share: 0.25 },
      { id: 'b', share: 0.75 },
    ];
    expect(chooseVariant(allocation, () => 0)).toBe('a');
    expect(chooseVariant(allocation, () => 0.2499)).toBe('a');
    expect(chooseVariant(allocation, () => 0.25)).toBe('b');
    expect(chooseVariant(allocation, () => 0.9999999999)).toBe('b');
    expect(() => chooseVariant([{ id: 'a', share: 0 }], () => 0.5)).toThrow(RangeError);
  });
});

describe('posteriorSummary', () => {
  it('conversion: Beta(1 + s, 1 + f) mean and exact 95% quantiles', () => {
    const [p] = posteriorSummary([{ id: 'a', trials: 100, successes: 10 }]);
    // Beta(11, 91): mean 11/102 = 0.107843; 2.5% and 97.5% quantiles 0.055637, 0.174553
    expect(p!.conversion.mean).toBeCloseTo(0.107843, 6);
    expect(p!.conversion.ci95[0]).toBeCloseTo(0.055637, 6);
    expect(p!.conversion.ci95[1]).toBeCloseTo(0.174553, 6);
    expect(p!.netRevenuePerSend).toBeNull();
    // No data: Beta(1, 1) is uniform, so the interval is [0.025, 0.975].
    const [empty] = posteriorSummary([{ id: 'new', trials: 0, successes: 0 }]);
    expect(empty!.conversion.mean).toBe(0.5);
    expect(empty!.conversion.ci95[0]).toBeCloseTo(0.025, 9);
    expect(empty!.conversion.ci95[1]).toBeCloseTo(0.975, 9);
  });

  it('net revenue per send: mean (m₀ + rewardSum) / (2 + n), Monte Carlo interval', () => {
    const [full, half] = posteriorSummary([
      { id: 'full-price', trials: 5000, successes: 200, rewardSum: 12_000, rewardLog: same(200, 60) },
      { id: 'half-off', trials: 5000, successes: 300, rewardSum: 9_000, rewardLog: same(300, 30) },
    ]);
    // Pooled value prior m₀ = (12,000 + 9,000) / (200 + 300) = 42
    // full: (42 + 12,000) / 5002 = 2.407437; half: (42 + 9,000) / 5002 = 1.807677
    expect(full!.netRevenuePerSend!.mean).toBeCloseTo(2.407437, 6);
    expect(half!.netRevenuePerSend!.mean).toBeCloseTo(1.807677, 6);
    // Values nearly certain: the interval is that of the conversion share × the value,
    // full ≈ 60 · Beta(201, 4801) → [2.08, 2.75], half ≈ 30 · Beta(301, 4701) → [1.61, 2.01].
    expect(full!.netRevenuePerSend!.ci95[0]).toBeCloseTo(2.08, 1);
    expect(full!.netRevenuePerSend!.ci95[1]).toBeCloseTo(2.75, 1);
    expect(half!.netRevenuePerSend!.ci95[0]).toBeCloseTo(1.61, 1);
    expect(half!.netRevenuePerSend!.ci95[1]).toBeCloseTo(2.01, 1);
    // The conversion posterior still says the discount converts better: Beta(301, 4701) mean 0.060176.
    expect(half!.conversion.mean).toBeCloseTo(0.060176, 6);
    expect(half!.conversion.mean).toBeGreaterThan(full!.conversion.mean);
  });

  it('heavy-tailed values widen the interval: a few large orders do not make a variant certain', () => {
    // 20 orders, log values spread with σ ≈ 2, against the same 20 orders all at their geometric mean.
    const logs = Array.from({ length: 20 }, (_, i) => Math.log(40) + 2 * (((i * 7) % 20) / 19 - 0.5) * 3.4);
    const spread = { count: 20, sum: logs.reduce((a, b) => a + b, 0), sumSq: logs.reduce((a, b) => a + b * b, 0) };
    const total = logs.reduce((a, b) => a + Math.exp(b), 0);
    const [wide] = posteriorSummary([{ id: 'w', trials: 1000, successes: 20, rewardSum: total, rewardLog: spread }]);
    const [narrow] = posteriorSummary([
      { id: 'n', trials: 1000, successes: 20, rewardSum: 20 * 40, rewardLog: same(20, 40) },
    ]);
    const width = (p: typeof wide) => p!.netRevenuePerSend!.ci95[1] / p!.netRevenuePerSend!.ci95[0];
    expect(width(wide)).toBeGreaterThan(2 * width(narrow));
  });

  it('uses priorValue when given, and is stable between calls (seeded by default)', () => {
    const variants = [{ id: 'a', trials: 18, successes: 0, rewardSum: 0, rewardLog: same(0, 1) }];
    // No conversions: (m₀ + 0) / (2 + 18) = 50 / 20 = 2.5
    expect(posteriorSummary(variants, { priorValue: 50 })[0]!.netRevenuePerSend!.mean).toBe(2.5);
    expect(posteriorSummary(variants)[0]!.netRevenuePerSend).toBeNull();
    const twice = [posteriorSummary(variants, { priorValue: 50 }), posteriorSummary(variants, { priorValue: 50 })];
    expect(twice[0]).toEqual(twice[1]);
  });
});

/** Log sums of `count` orders all worth `value`. */
function same(count: number, value: number): { count: number; sum: number; sumSq: number } {
  return { count, sum: count * Math.log(value), sumSq: count * Math.log(value) ** 2 };
}
