import { describe, expect, it } from 'vitest';
import { betaCdf, mulberry32, sampleBeta, sampleGamma, sampleNormal } from '../../src/metrics/stats/index.js';
import { seededRandom } from '../../src/util/random.js';

/** Mean and sample variance of n draws. */
function moments(n: number, draw: () => number): { mean: number; variance: number } {
  let sum = 0;
  let sumSq = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    sum += x;
    sumSq += x * x;
  }
  const mean = sum / n;
  return { mean, variance: (sumSq - n * mean * mean) / (n - 1) };
}

describe('mulberry32', () => {
  it('is reproducible, uniform in [0, 1), and the same stream as the project generator', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = seededRandom(42);
    const first = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(first);
    expect(Array.from({ length: 5 }, () => c())).toEqual(first);
    expect(mulberry32(43)()).not.toBe(first[0]);
    // Uniform(0, 1): mean 1/2, variance 1/12 = 0.083333
    const rng = mulberry32(1);
    const m = moments(50_000, () => {
      const u = rng();
      if (u < 0 || u >= 1) throw new Error(`out of range: ${u}`);
      return u;
    });
    expect(m.mean).toBeCloseTo(0.5, 2);
    expect(m.variance).toBeCloseTo(1 / 12, 2);
  });
});

describe('samplers', () => {
  it('normal: mean 0, variance 1', () => {
    const rng = mulberry32(2);
    const m = moments(50_000, () => sampleNormal(rng));
    expect(Math.abs(m.mean)).toBeLessThan(0.015); // sd of the mean: 1/√50,000 = 0.0045
    expect(m.variance).toBeCloseTo(1, 1);
  });

  it('gamma (Marsaglia–Tsang): mean shape/rate, variance shape/rate², below and above shape 1', () => {
    const rng = mulberry32(3);
    for (const [shape, rate] of [
      [0.3, 1],
      [1, 2],
      [3.7, 1],
      [50, 0.5],
    ] as const) {
      const n = 40_000;
      const m = moments(n, () => sampleGamma(shape, rng, rate));
      const mean = shape / rate;
      const variance = shape / (rate * rate);
      // Within 4 standard errors of the mean; variance within 10%.
      expect(Math.abs(m.mean - mean)).toBeLessThan(4 * Math.sqrt(variance / n));
      expect(m.variance / variance).toBeGreaterThan(0.9);
      expect(m.variance / variance).toBeLessThan(1.1);
    }
    expect(() => sampleGamma(0, rng)).toThrow(RangeError);
  });

  it('beta: moments and the empirical CDF agree with the incomplete beta function', () => {
    const rng = mulberry32(4);
    // Beta(2, 5): mean 2/7 = 0.285714, variance 2·5 / (7² · 8) = 10/392 = 0.025510
    const m = moments(40_000, () => sampleBeta(2, 5, rng));
    expect(m.mean).toBeCloseTo(0.285714, 2);
    expect(m.variance).toBeCloseTo(0.02551, 3);
    // Beta(3, 7): empirical CDF vs I_x(3, 7) at a few points (sd of each ≤ √(0.25/20,000) = 0.0035).
    const draws = Array.from({ length: 20_000 }, () => sampleBeta(3, 7, rng));
    for (const x of [0.1, 0.25, 0.4, 0.6]) {
      const empirical = draws.filter((d) => d <= x).length / draws.length;
      expect(Math.abs(empirical - betaCdf(x, 3, 7))).toBeLessThan(0.015);
    }
  });
});
