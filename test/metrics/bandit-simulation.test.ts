import { describe, expect, it } from 'vitest';
import { simulateBandit } from '../../src/metrics/stats/index.js';

// 200 seeded runs of 10,000 sends, conversion 5%, net values lognormal with σ 2 (median 40.00),
// shares recomputed every 500 sends.
describe('net-revenue bandit on heavy-tailed values (seeded simulation)', () => {
  const base = { sends: 10_000, batch: 500, sigma: 2, draws: 300 } as const;
  it('identical variants: one ends at ≥ 80% share in at most 60% of runs', () => {
    const r = simulateBandit({ ...base, rates: [0.05, 0.05], medians: [4000, 4000] }, 200, 31);
    expect(r.oneAtLeast80).toBeLessThanOrEqual(0.6);
  });

  it('20% more net revenue per mail (6% against 5% conversion) ends with the larger share in ≥ 80% of runs', () => {
    const r = simulateBandit({ ...base, rates: [0.05, 0.06], medians: [4000, 4000] }, 200, 32);
    expect(r.secondLarger).toBeGreaterThanOrEqual(0.8);
  });
});
