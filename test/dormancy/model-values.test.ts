import { describe, expect, it } from 'vitest';
import { DEFAULT_SCORING_SETTINGS as S, parseScoringSettings } from '../../src/dormancy/config.js';
import {
  bgNbdExpectedPurchases,
  bgNbdExpectedPurchasesIfAlive,
  bgNbdPAlive,
  customerLifetimeValue,
} from '../../src/dormancy/model/index.js';
import { modelValues, type ModelCache } from '../../src/dormancy/score.js';

const relErr = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(y), 1e-300);

describe('model values of the scoring run', () => {
  const models = [
    { r: 0.2426, alpha: 4.4135 * 7, a: 0.7929, b: 2.4258 }, // CDNOW, in days
    { r: 0.9, alpha: 37, a: 0.8, b: 3.5 }, // the synthetic truth
    { r: 1.3, alpha: 7, a: 2.2, b: 3.1 }, // a > 1
    { r: 1.138, alpha: 37.93, a: 1.336e11, b: 3.398e12 }, // a small shop's fit at the edge of the parameter space
  ];
  const histories = [
    { frequency: 0, recency: 0, T: 0 },
    { frequency: 0, recency: 0, T: 200 },
    { frequency: 1, recency: 30, T: 31 },
    { frequency: 4, recency: 120, T: 200 },
    { frequency: 4, recency: 20, T: 200 }, // same (frequency, T) as above: shares the cache entry
    { frequency: 40, recency: 700, T: 720 },
  ];

  it('are P(alive) × the expectations given alive, equal to the model functions, with the cache per (frequency, T)', () => {
    for (const settings of [
      S,
      parseScoringSettings({ valueStepDays: 91.25, horizonDays: 730 }),
      parseScoringSettings({ valueStepDays: 7, horizonDays: 100 }),
    ]) {
      const options = {
        horizon: settings.horizonDays,
        step: settings.valueStepDays,
        discountRatePerPeriod: Math.pow(1 + settings.annualDiscountRate, settings.valueStepDays / 365) - 1,
      };
      for (const bg of models) {
        const cache: ModelCache = new Map();
        const modelErrors = { count: 0, first: null };
        const ctx = {
          settings,
          models: { bg: { ...bg, logLikelihood: -1 }, gg: null, fitRows: 1, note: null },
          cache,
          modelErrors,
        };
        for (const h of histories) {
          const v = modelValues(ctx, h)!;
          expect(relErr(v.pAlive, bgNbdPAlive(bg, h))).toBeLessThan(1e-12);
          expect(relErr(v.purchases90, bgNbdExpectedPurchases(bg, 90, h))).toBeLessThan(1e-9);
          expect(
            relErr(
              v.discountedPurchases,
              customerLifetimeValue(bg, { p: 1, q: 2, v: 1 }, { ...h, monetaryValue: 1 }, options),
            ),
          ).toBeLessThan(1e-9);
        }
        expect(cache.size).toBe(histories.length - 1);
        expect(modelErrors.count).toBe(0);
      }
    }
  });

  it('the expectation given alive does not depend on the recency and times P(alive) is eq. 10', () => {
    const bg = models[0]!;
    const alive = bgNbdExpectedPurchasesIfAlive(bg, 90, { frequency: 4, T: 200 });
    for (const recency of [0, 50, 199]) {
      const h = { frequency: 4, recency, T: 200 };
      expect(relErr(bgNbdPAlive(bg, h) * alive, bgNbdExpectedPurchases(bg, 90, h))).toBeLessThan(1e-12);
    }
    expect(() => bgNbdExpectedPurchasesIfAlive(bg, 90, { frequency: -1, T: 3 })).toThrow(RangeError);
  });
});
