import { describe, expect, it } from 'vitest';
import { conversionMde, holdoutAdvice, mdeFromInterval, powerVerdict } from '../../src/metrics/stats/index.js';

describe('power', () => {
  it('minimum detectable conversion difference: 2.8 standard errors at the baseline', () => {
    // p = 0.04, n₁ = 1800, n₂ = 200: √(0.04 · 0.96 · (1/1800 + 1/200)) = 0.014606 → × 2.801585 = 0.040920
    expect(conversionMde(0.04, 1800, 200)).toBeCloseTo(0.04092, 5);
    // A baseline of 0 is taken as one conversion in all enrolments, not as "anything is detectable".
    expect(conversionMde(0, 1800, 200)).toBeGreaterThan(0);
    expect(conversionMde(0.04, 0, 200)).toBe(Infinity);
  });

  it('the detectable effect behind an interval, and the verdict in words', () => {
    // half-width 1.96 → 2.801585
    expect(mdeFromInterval([-1.959964, 1.959964])).toBeCloseTo(2.801585, 5);
    expect(powerVerdict(false, '+4.1 pp', 1800, 200)).toBe(
      'not significant: too few in the holdout to see less than +4.1 pp',
    );
    expect(powerVerdict(true, '+4.1 pp', 1800, 200)).toBe(
      'significant; effects from +4.1 pp show 8 times in 10 at these sizes',
    );
  });

  it('holdout advice: says when a holdout can never show +2 pp and what share would', () => {
    // 20,000 enrolments with a 10% holdout at a 4% baseline detect +1.4 pp: fine.
    expect(holdoutAdvice(20_000, 0.1, 0.04)).toBeNull();
    // 5,000 with 10%: +2.6 pp at best; h(1−h) ≥ 1/(5000 · (0.02/2.8016)² / 0.0384) = 0.1507 → 19%.
    const small = holdoutAdvice(5000, 0.1, 0.04)!;
    expect(small.mde).toBeCloseTo(0.0259, 3);
    expect(small.neededShare).toBe(0.19);
    expect(conversionMde(0.04, 5000 * 0.81, 5000 * 0.19)).toBeLessThanOrEqual(0.02);
    expect(conversionMde(0.04, 5000 * 0.82, 5000 * 0.18)).toBeGreaterThan(0.02);
    // 2,000: even an even split cannot show +2 pp (it would see +2.5 pp).
    expect(holdoutAdvice(2000, 0.1, 0.04)).toEqual({ mde: expect.any(Number), neededShare: null });
  });
});
