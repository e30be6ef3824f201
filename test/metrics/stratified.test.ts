import { describe, expect, it } from 'vitest';
import { mantelHaenszelDifference, newcombeInterval } from '../../src/metrics/stats/index.js';

describe('Mantel–Haenszel difference of two conversion rates over strata', () => {
  it('is the plain difference with the Wald variance in one stratum', () => {
    const r = mantelHaenszelDifference([{ k1: 60, n1: 500, k2: 40, n2: 500 }], 1.96)!;
    expect(r.difference).toBeCloseTo(0.04, 12);
    // Sato's variance at one stratum: (d·P + Q)/W² with W = 250.
    const p = (500 * 500 * 40 - 500 * 500 * 60 + 0) / 1000 ** 2;
    const q = (60 * 460 + 40 * 440) / 2000;
    expect(r.se).toBeCloseTo(Math.sqrt(0.04 * p + q) / 250, 12);
    // Close to Newcombe's interval at these sizes.
    const n = newcombeInterval(60, 500, 40, 500, 1.96);
    expect(r.ci[0]).toBeCloseTo(n[0], 2);
    expect(r.ci[1]).toBeCloseTo(n[1], 2);
  });

  it('removes the bias of pooling when shares and rates move together (Simpson)', () => {
    // Early: high rates, most traffic to group 2; late: low rates, most traffic to group 1.
    // Within each stratum group 1 converts 2 pp better; pooled, it looks 10 pp worse.
    const strata = [
      { k1: 12, n1: 100, k2: 90, n2: 900 },
      { k1: 27, n1: 900, k2: 1, n2: 100 },
    ];
    const pooled = (12 + 27) / 1000 - (90 + 1) / 1000;
    expect(pooled).toBeLessThan(-0.05);
    const r = mantelHaenszelDifference(strata, 1.96)!;
    expect(r.difference).toBeCloseTo(0.02, 12);
  });

  it('skips strata that hold one group only, and gives null without any pair', () => {
    expect(mantelHaenszelDifference([{ k1: 3, n1: 10, k2: 0, n2: 0 }], 1.96)).toBeNull();
    const a = mantelHaenszelDifference([{ k1: 10, n1: 100, k2: 5, n2: 100 }], 1.96)!;
    const b = mantelHaenszelDifference(
      [
        { k1: 10, n1: 100, k2: 5, n2: 100 },
        { k1: 1, n1: 7, k2: 0, n2: 0 },
      ],
      1.96,
    )!;
    expect(b).toEqual(a);
  });
});
