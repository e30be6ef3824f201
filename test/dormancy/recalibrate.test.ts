import { describe, expect, it } from 'vitest';
import { fitLogistic, predictLogistic } from '../../src/dormancy/calibrate.js';
import { featuresAt, type DayHistory } from '../../src/dormancy/backtest.js';
import { fitCalibrations, refitIntercept, trainingWindows, windowWeight } from '../../src/dormancy/recalibrate.js';
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
