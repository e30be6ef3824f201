import { describe, expect, it } from 'vitest';
import { DAY } from '../../src/clock.js';
import { allocationEpoch, decideCohortShares, type CohortArm } from '../../src/metrics/cohort-allocation.js';
import { parseSequence } from '../../src/sequences/loader.js';

const yaml = (split: string, optimize = 'conversion') => `id: s
name: S
audience: { trigger: lapsed }
consent: [double_opt_in]
optimize: ${optimize}
steps:
  - id: paths
    split:
${split}
      cohorts:
        - { id: a, steps: [{ id: a1, template: winback/offer, subject: A }] }
        - { id: b, steps: [{ id: b1, template: winback/offer, subject: B }] }
`;
const seq = (split: string, optimize?: string) => parseSequence(yaml(split, optimize), 's.yaml').sequence!;
const arm = (cohortId: string, matured: number, conversions: number, net = conversions * 4000): CohortArm => ({
  cohortId,
  matured,
  conversions,
  netRevenue: net,
  // Every order worth the same: net / conversions.
  netLog: {
    count: conversions,
    sum: conversions * Math.log(net / conversions),
    sumSq: conversions * Math.log(net / conversions) ** 2,
  },
});

describe('cohort shares of an allocation epoch', () => {
  it('keeps the written shares of a fixed split, and while cohorts have too few matured enrolments', () => {
    const fixed = decideCohortShares(
      seq('      allocation: fixed'),
      [arm('a', 5000, 50), arm('b', 5000, 500)],
      0,
      0.05,
    );
    expect(fixed.state).toBe('fixed');
    expect(fixed.cohorts.map((c) => c.share)).toEqual([0.5, 0.5]);
    const warm = decideCohortShares(seq('      adapt_after: 100'), [arm('a', 99, 1), arm('b', 5000, 500)], DAY, 0.05);
    expect(warm).toMatchObject({ state: 'warming_up', epoch: DAY });
    expect(warm.cohorts.map((c) => [c.share, c.probabilityBest, c.matured])).toEqual([
      [0.5, null, 99],
      [0.5, null, 5000],
    ]);
  });

  it('moves the shares to the better cohort once enough has matured, never below the floor, the same on the same data', () => {
    const s = seq('      adapt_after: 100');
    const arms = [arm('a', 400, 20), arm('b', 400, 60)];
    const r = decideCohortShares(s, arms, 3 * DAY, 0.05);
    expect(r.state).toBe('adaptive');
    expect(r.cohorts[1]!.share).toBeCloseTo(0.95, 9);
    expect(r.cohorts[0]!.share).toBeCloseTo(0.05, 9);
    expect(r.cohorts[1]!.probabilityBest).toBeGreaterThan(0.99);
    expect(decideCohortShares(s, arms, 3 * DAY, 0.05)).toEqual(r);
    // A close race stays close.
    const close = decideCohortShares(s, [arm('a', 400, 40), arm('b', 400, 41)], 3 * DAY, 0.05);
    expect(close.cohorts[0]!.share).toBeGreaterThan(0.25);
    expect(close.cohorts[1]!.share).toBeGreaterThan(0.25);
  });

  it('ranks by net revenue when the sequence optimises it', () => {
    const s = seq('      adapt_after: 100', 'net_revenue');
    // a converts more often, b brings far more per enrolment.
    const r = decideCohortShares(s, [arm('a', 500, 60, 60 * 2000), arm('b', 500, 40, 40 * 20000)], 0, 0.05);
    expect(r.cohorts[1]!.share).toBeGreaterThan(0.9);
  });

  it('epochs are UTC days', () => {
    expect(allocationEpoch(Date.UTC(2026, 2, 2, 17, 30))).toBe(Date.UTC(2026, 2, 2));
  });
});
