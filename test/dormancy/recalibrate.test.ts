import { describe, expect, it } from 'vitest';
import { fitLogistic, predictLogistic, type Logistic } from '../../src/dormancy/calibrate.js';
import { featuresAt, type DayHistory } from '../../src/dormancy/backtest.js';
import { evaluateOriginMethods } from '../../src/dormancy/backtest-origin.js';
import {
  fitCalibrations,
  methodParts,
  RECALIBRATIONS,
  refitIntercept,
  trainingWindows,
  windowsNeeded,
  windowWeight,
} from '../../src/dormancy/recalibrate.js';
import { seededRandom } from '../../src/util/random.js';

/** A seeded shop: customers buying at exponential gaps around a personal mean, each stopping at a random day. */
function shop(seed: number, customers: number, days: number): DayHistory[] {
  const rand = seededRandom(seed);
  return Array.from({ length: customers }, (_, id) => {
    const mean = 10 + 80 * rand();
    const stop = days * rand() * 1.5;
    const out: number[] = [];
    let d = Math.floor(rand() * days * 0.3);
    while (d < days && d < stop) {
      out.push(d);
      d += 1 + Math.floor(-mean * Math.log(1 - rand()));
    }
    return { id, days: Int32Array.from(out.length > 0 ? out : [Math.floor(rand() * days)]) };
  });
}

describe('drift-aware recalibration', () => {
  it('re-estimating the intercept alone makes the mean prediction equal the observed rate (recalibration-in-the-large)', () => {
    const rand = seededRandom(3);
    const xs = Array.from({ length: 2000 }, () => [rand() * 4 - 2]);
    const old = xs.map(([x]) => (rand() < 1 / (1 + Math.exp(-(0.5 + 1.5 * x!))) ? 1 : 0));
    const shifted = xs.map(([x]) => (rand() < 1 / (1 + Math.exp(-(-1 + 1.5 * x!))) ? 1 : 0));
    const map = fitLogistic(xs, old);
    const updated = refitIntercept(map, xs, shifted);
    const mean = xs.reduce((a, f) => a + predictLogistic(updated, f), 0) / xs.length;
    expect(mean).toBeCloseTo(shifted.reduce((a: number, v) => a + v, 0) / xs.length, 9);
    expect(updated.weights.slice(1)).toEqual(map.weights.slice(1));
    expect(updated.weights[0]!).toBeLessThan(map.weights[0]!);
  });

  it('fits on up to four windows one third of a horizon apart, each fully observed before the cut-off, and weighs them by method', () => {
    const h = shop(11, 600, 720);
    const c = 600;
    const windows = trainingWindows(h, c, 90, 0);
    expect(windows.map((w) => w.set.cutoff)).toEqual([510, 480, 450, 420]);
    expect(windows.map((w) => w.age)).toEqual([0, 30, 60, 90]);
    // Every outcome a window uses is observed by the cut-off.
    for (const w of windows) expect(w.set.cutoff + 90).toBeLessThanOrEqual(c);
    expect(windows[0]!.set).toEqual(featuresAt(h, 510, 90));
    expect([0, 30, 60, 90].map((a) => windowWeight('latest', a, 90))).toEqual([1, 0, 0, 0]);
    expect([0, 30, 60, 90].map((a) => windowWeight('pooled', a, 90))).toEqual([1, 1, 1, 1]);
    expect(windowWeight('decayed', 90, 90)).toBeCloseTo(0.5, 12);
    // `latest` uses only the latest window; the intercept update matches its rate in the large.
    const latest = fitCalibrations(windows, 'latest');
    const again = fitCalibrations(windows.slice(0, 1), 'pooled');
    expect(latest.maps.recency!.weights).toEqual(again.maps.recency!.weights);
    const updated = fitCalibrations(windows, 'decayed_intercept');
    const w0 = windows[0]!.set;
    const mean =
      w0.rows.reduce((a, f) => a + predictLogistic(updated.maps.recency!, [Math.log1p(f.sinceLast)]), 0) /
      w0.rows.length;
    expect(mean).toBeCloseTo(w0.y.reduce((a, v) => a + v, 0) / w0.rows.length, 9);
    // Only a window with one horizon of history before it is used: near the start there is one.
    expect(trainingWindows(h, 200, 90, 0).length).toBe(1);
  });
});

/**
 * One ageing cohort, the CDNOW pattern: first purchases in the first 60 days, each customer buying
 * on a day with a personal probability (lognormal, heavy-tailed across customers) that fades with
 * the customer's age, so the shop's return rate falls from one window to the next.
 */
function ageingCohort(seed: number, customers: number, days: number, fade: number): DayHistory[] {
  const rand = seededRandom(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  return Array.from({ length: customers }, (_, id) => {
    const rate = Math.exp(Math.log(1 / 40) + normal());
    const start = Math.floor(rand() * 60);
    const out = [start];
    for (let d = start + 1; d < days; d++) if (rand() < rate * Math.exp(-(d - start) / fade)) out.push(d);
    return { id, days: Int32Array.from(out) };
  });
}

describe('the combination with the customer age', () => {
  it('splits a method into its window weighting and the age term; the twin shares the single scores’ maps', () => {
    expect(RECALIBRATIONS).toHaveLength(8);
    expect(methodParts('decayed_intercept_age')).toEqual({ weighting: 'decayed_intercept', customerAge: true });
    expect(methodParts('pooled')).toEqual({ weighting: 'pooled', customerAge: false });
    expect(windowWeight('latest_age', 30, 90)).toBe(0);
    expect(windowsNeeded(['latest', 'latest_age'])).toBe(1);
    const windows = trainingWindows(shop(11, 600, 720), 600, 90, 0);
    // One memo for the windows: the twin takes the single scores' maps from it, and
    // `decayed_intercept` starts from `decayed`'s fit.
    const memo = new Map<string, Logistic>();
    const plain = fitCalibrations(windows, 'pooled', true, memo);
    const aged = fitCalibrations(windows, 'pooled_age', true, memo);
    expect(aged.maps.recency).toBe(plain.maps.recency);
    expect(aged.customerAge).toBe(true);
    expect(aged.maps.combined!.weights.length).toBe(plain.maps.combined!.weights.length + 1);
    const decayed = fitCalibrations(windows, 'decayed', true, memo);
    const shifted = fitCalibrations(windows, 'decayed_intercept', true, memo);
    expect(shifted.maps.combined!.weights.slice(1)).toEqual(decayed.maps.combined!.weights.slice(1));
    expect(fitCalibrations(windows, 'decayed_intercept').maps.combined).toEqual(shifted.maps.combined);
    // Fitted without a memo, the single scores' maps are the same.
    expect(fitCalibrations(windows, 'pooled_age').maps.regularity!.weights).toEqual(plain.maps.regularity!.weights);
  });

  it('in an ageing cohort, the age term carries the falling return rate into the map (seeded, 3 shops)', () => {
    for (const seed of [2, 3, 7]) {
      const h = ageingCohort(seed, 1500, 540, 250);
      const r = evaluateOriginMethods(h, 450, 90, 30, ['pooled', 'pooled_age'])!;
      const inTheLarge = (m: 'pooled' | 'pooled_age') => {
        const o = r.results.get(m)!;
        const p = o.predictions.p.combined!;
        return (p.reduce((a, v) => a + v, 0) - o.predictions.outcome.reduce((a, v) => a + v, 0)) / p.length;
      };
      // Without the age term the map fitted on older windows over-predicts the later, lower rate.
      expect(inTheLarge('pooled')).toBeGreaterThan(0.05);
      expect(Math.abs(inTheLarge('pooled_age'))).toBeLessThan(inTheLarge('pooled') / 2);
      const aged = r.results.get('pooled_age')!.signals.combined!;
      const plain = r.results.get('pooled')!.signals.combined!;
      expect(aged.maxCalibrationGapPp).toBeLessThan(plain.maxCalibrationGapPp);
      expect(aged.auc).toBeGreaterThan(plain.auc - 0.005);
    }
  });
});
