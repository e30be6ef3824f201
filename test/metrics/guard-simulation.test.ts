import { describe, expect, it } from 'vitest';
import { guardScenarios, simulateBandit, simulateGuard } from '../../src/metrics/stats/index.js';

// Seeded simulations of 30-day campaigns of 20,000 mails, the guard checked every minute with its
// default thresholds. 20,000 campaigns per complaint scenario: Monte Carlo sd ≈ 0.15 pp around 5% and 95%.
// The complaint targets (≤ 5% false pauses at 0.1%, ≥ 95% paused by mail 2,000 at 0.5%) sit close
// to what any test can tell apart from these counts; docs/METRICS.md has the 100,000-campaign figures.
describe('deliverability guard (seeded campaign simulation)', () => {
  guardScenarios().forEach(({ name, scenario, target }, i) => {
    it(name, () => {
      // The bounce targets have wide margins: fewer campaigns suffice there.
      const r = simulateGuard(scenario, scenario.kind === 'complaint' ? 20_000 : 4000, 7100 + i);
      if (target.maxPaused !== undefined) expect(r.paused).toBeLessThanOrEqual(target.maxPaused);
      if (target.minPausedWithin !== undefined) expect(r.pausedWithin).toBeGreaterThanOrEqual(target.minPausedWithin);
    });
  });
});

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
