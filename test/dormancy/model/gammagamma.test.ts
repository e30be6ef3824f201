import { describe, expect, it } from 'vitest';
import {
  customerLifetimeValue,
  fitBgNbd,
  fitGammaGamma,
  gammaGammaExpectedSpend,
  gammaGammaLogLikelihood,
  type GammaGammaParams,
} from '../../../src/dormancy/model/index.js';
import { aggregateGammaGamma, gammaGammaObjective } from '../../../src/dormancy/model/gammagamma.js';
import { loadCdnow, simulateGammaGamma } from './helpers.js';

const cdnow = loadCdnow();
const customer = (id: number) => cdnow[id - 1]!;

/** Gamma-Gamma on the CDNOW repeat buyers, as printed in the lifetimes documentation (task brief). */
const PUBLISHED: GammaGammaParams = { p: 6.25, q: 3.7442, v: 15.4447 };

function relErr(actual: number, expected: number): number {
  return Math.abs(actual / expected - 1);
}

describe('fitGammaGamma on the CDNOW repeat buyers (946 of 2,357)', () => {
  const fit = fitGammaGamma(cdnow);

  it('reproduces the published estimates to 0.1% and is a maximum', () => {
    for (const k of ['p', 'q', 'v'] as const) expect(relErr(fit[k], PUBLISHED[k])).toBeLessThan(1e-3);
    // Fader & Hardie's note "The Gamma-Gamma model of monetary value" (and the CLVTools test suite)
    // give p = 6.25, q = 3.74, gamma = 15.44 and LL = -4055.9177; CLVTools derives the spends from
    // the raw transactions, the fixture holds them rounded to cents, hence the 0.01 tolerance.
    expect(Math.abs(fit.logLikelihood - -4055.9177)).toBeLessThan(0.01);
    expect(fit.logLikelihood).toBeGreaterThanOrEqual(gammaGammaLogLikelihood(PUBLISHED, cdnow));
    const data = aggregateGammaGamma(cdnow);
    expect(data.n).toBe(946);
    const { g } = gammaGammaObjective(data, [fit.p, fit.q, fit.v].map(Math.log));
    for (const gi of g) expect(Math.abs(gi)).toBeLessThan(1e-8);
  });

  it('analytic gradient matches central differences', () => {
    const data = aggregateGammaGamma(cdnow);
    const theta = [Math.log(3), Math.log(2), Math.log(30)];
    const { g } = gammaGammaObjective(data, theta);
    for (let i = 0; i < 3; i++) {
      const up = theta.slice();
      const down = theta.slice();
      up[i]! += 1e-6;
      down[i]! -= 1e-6;
      expect(
        Math.abs((gammaGammaObjective(data, up).f - gammaGammaObjective(data, down).f) / 2e-6 - g[i]!),
      ).toBeLessThan(1e-7);
    }
  });

  it("matches lifetimes' documented conditional expected average profit", () => {
    // lifetimes docs (Quickstart, Gamma-Gamma section), customers 1, 2, 3 (one-time buyer), 6, 9.
    const documented: [number, number][] = [
      [1, 24.658619],
      [2, 18.911489],
      [3, 35.170981],
      [6, 71.462843],
      [9, 27.282408],
    ];
    for (const [id, expected] of documented)
      expect(relErr(gammaGammaExpectedSpend(fit, customer(id)), expected)).toBeLessThan(1e-5);
    const mean = cdnow.reduce((s, c) => s + gammaGammaExpectedSpend(fit, c), 0) / cdnow.length;
    expect(relErr(mean, 35.2529588256)).toBeLessThan(1e-6);
  });

  it('one-time buyers get the population mean p·v/(q-1), whatever their recorded spend', () => {
    const mean = (fit.p * fit.v) / (fit.q - 1);
    expect(gammaGammaExpectedSpend(fit, { frequency: 0, monetaryValue: 0 })).toBeCloseTo(mean, 12);
    expect(gammaGammaExpectedSpend(fit, { frequency: 0, monetaryValue: 500 })).toBeCloseTo(mean, 12);
    // More purchases pull the estimate towards the customer's own mean.
    const few = gammaGammaExpectedSpend(fit, { frequency: 1, monetaryValue: 100 });
    const many = gammaGammaExpectedSpend(fit, { frequency: 50, monetaryValue: 100 });
    expect(few).toBeLessThan(many);
    expect(many).toBeLessThan(100);
  });
});

describe('Gamma-Gamma parameter recovery and edge cases', () => {
  it('recovers known parameters from 10,000 simulated customers (seeded)', () => {
    const truth = { p: 4, q: 5, v: 60 };
    const fit = fitGammaGamma(simulateGammaGamma(10_000, truth, 11));
    for (const k of ['p', 'q', 'v'] as const) expect(relErr(fit[k], truth[k])).toBeLessThan(0.15);
    // The population mean spend p·v/(q-1) is much better determined.
    expect(relErr((fit.p * fit.v) / (fit.q - 1), (truth.p * truth.v) / (truth.q - 1))).toBeLessThan(0.03);
  });

  it('skips one-time buyers and rejects bad rows with the row index', () => {
    const rows = [{ frequency: 0, monetaryValue: 0 }, ...cdnow];
    expect(fitGammaGamma(rows).p).toBeCloseTo(fitGammaGamma(cdnow).p, 8);
    expect(() => fitGammaGamma([])).toThrow(/no rows/);
    expect(() => fitGammaGamma([{ frequency: 0, monetaryValue: 12 }])).toThrow(/no row has frequency > 0/);
    const bad = (row: unknown) => [{ frequency: 2, monetaryValue: 10 }, row as never];
    expect(() => fitGammaGamma(bad({ frequency: 2, monetaryValue: 0 }))).toThrow(/row 1: monetaryValue must be > 0/);
    expect(() => fitGammaGamma(bad({ frequency: 2, monetaryValue: -5 }))).toThrow(/row 1: monetaryValue must be > 0/);
    expect(() => fitGammaGamma(bad({ frequency: 0, monetaryValue: -5 }))).toThrow(/row 1: monetaryValue must be >= 0/);
    expect(() => fitGammaGamma(bad({ frequency: 2, monetaryValue: 'lots' }))).toThrow(
      /row 1: monetaryValue must be a finite number/,
    );
    expect(() => fitGammaGamma(bad({ frequency: -2, monetaryValue: 5 }))).toThrow(/row 1: frequency must be >= 0/);
    expect(() => fitGammaGamma(bad(undefined))).toThrow(/row 1: expected an object/);
    expect(() => gammaGammaExpectedSpend({ p: 1, q: 0.5, v: 1 }, { frequency: 0, monetaryValue: 0 })).toThrow(
      /infinite for q = 0.5/,
    );
    expect(() => gammaGammaExpectedSpend({ ...PUBLISHED, v: -1 }, { frequency: 1, monetaryValue: 1 })).toThrow(
      /parameter v must be > 0/,
    );
  });
});

describe('customerLifetimeValue', () => {
  const bg = fitBgNbd(cdnow);
  const gg = fitGammaGamma(cdnow);

  it("matches lifetimes' documented CLV (time = 12, discount 0.01, freq 'D': 12 steps of 30 weeks)", () => {
    // lifetimes docs (Quickstart, "computing the total CLV using the DCF method"), customers 1-10.
    const documented: [number, number][] = [
      [1, 140.096211],
      [2, 18.943467],
      [3, 38.180574],
      [6, 1003.868107],
      [7, 28.109683],
      [9, 167.418216],
      [10, 38.180574],
    ];
    for (const [id, expected] of documented) {
      const clv = customerLifetimeValue(bg, gg, customer(id), { horizon: 360, step: 30, discountRatePerPeriod: 0.01 });
      expect(relErr(clv, expected)).toBeLessThan(1e-5);
    }
  });

  it('without discounting, equals expected spend × expected purchases over the horizon, for any step', () => {
    const c = customer(6);
    const direct = customerLifetimeValue(bg, gg, c, { horizon: 52, discountRatePerPeriod: 0, step: 52 });
    for (const step of [1, 4.345, 10, 100]) {
      expect(customerLifetimeValue(bg, gg, c, { horizon: 52, discountRatePerPeriod: 0, step })).toBeCloseTo(direct, 9);
    }
    const discounted = customerLifetimeValue(bg, gg, c, { horizon: 52, discountRatePerPeriod: 0.01 });
    expect(discounted).toBeLessThan(direct);
    expect(discounted).toBeGreaterThan(direct / 1.01 ** 52);
  });

  it('rejects bad options', () => {
    expect(() => customerLifetimeValue(bg, gg, customer(1), { horizon: 0, discountRatePerPeriod: 0 })).toThrow(
      /horizon must be > 0/,
    );
    expect(() => customerLifetimeValue(bg, gg, customer(1), { horizon: 10, discountRatePerPeriod: -0.1 })).toThrow(
      /discountRatePerPeriod must be >= 0/,
    );
    expect(() =>
      customerLifetimeValue(bg, gg, customer(1), { horizon: 10, discountRatePerPeriod: 0, step: 0 }),
    ).toThrow(/step must be > 0/);
    expect(() =>
      customerLifetimeValue(bg, gg, { ...customer(1), recency: 99 }, { horizon: 10, discountRatePerPeriod: 0 }),
    ).toThrow(/recency/);
  });
});
