import { describe, expect, it } from 'vitest';
import { guardScenarios, simulateGuard } from '../../src/metrics/stats/index.js';

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
