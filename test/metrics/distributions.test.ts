import { describe, expect, it } from 'vitest';
import {
  betaCdf,
  betaQuantile,
  logGamma,
  normalCdf,
  normalQuantile,
  studentTCdf,
  studentTQuantile,
} from '../../src/metrics/stats/index.js';

describe('normal distribution', () => {
  it('matches tabulated values', () => {
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(1.96)).toBeCloseTo(0.9750021048517795, 14);
    expect(normalCdf(-1)).toBeCloseTo(0.15865525393145707, 14);
    // The far tail keeps relative precision: Φ(−10) = 7.6198530e−24 (not 1 − 1 = 0).
    expect(normalCdf(-10) / 7.61985302416047e-24).toBeCloseTo(1, 7);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959963984540054, 13);
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 12);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1.5)).toBeNaN();
  });

  it('quantile inverts the CDF', () => {
    for (const p of [1e-12, 1e-6, 0.01, 0.2, 0.5, 0.77, 0.99, 0.999999]) {
      expect(normalCdf(normalQuantile(p)) / p).toBeCloseTo(1, 9);
    }
  });
});

describe("Student's t", () => {
  it('matches the closed forms for 1 and 2 degrees of freedom', () => {
    // df 1 (Cauchy): t = tan(π(p − ½)) → tan(0.475π) = 12.706205
    expect(studentTQuantile(0.975, 1)).toBeCloseTo(Math.tan(0.475 * Math.PI), 9);
    // df 2: t = (2p − 1) / √(2p(1 − p)) → 0.95 / √(0.04875) = 4.302653
    expect(studentTQuantile(0.975, 2)).toBeCloseTo(0.95 / Math.sqrt(0.04875), 9);
    // df 1 CDF: ½ + atan(t)/π → t = 1 gives 0.75
    expect(studentTCdf(1, 1)).toBeCloseTo(0.75, 12);
  });

  it('matches tables, and tends to the normal', () => {
    expect(studentTQuantile(0.975, 10)).toBeCloseTo(2.228139, 6);
    expect(studentTQuantile(0.995, 30)).toBeCloseTo(2.749996, 6);
    expect(studentTQuantile(0.025, 10)).toBeCloseTo(-2.228139, 6);
    expect(studentTQuantile(0.975, 1e9)).toBeCloseTo(1.959964, 6);
    expect(studentTCdf(studentTQuantile(0.9, 7.3), 7.3)).toBeCloseTo(0.9, 12);
  });
});

describe('beta distribution and log-gamma', () => {
  it('Beta(1, b) has the closed form I_x = 1 − (1 − x)^b', () => {
    // 97.5% quantile of Beta(1, 101): 1 − 0.025^(1/101) = 1 − exp(−3.688879/101) = 0.0358646
    expect(betaQuantile(0.975, 1, 101)).toBeCloseTo(0.0358646, 7);
    expect(betaCdf(0.03, 1, 101)).toBeCloseTo(1 - Math.pow(0.97, 101), 12);
    expect(betaCdf(0, 2, 3)).toBe(0);
    expect(betaCdf(1, 2, 3)).toBe(1);
  });

  it('is symmetric and inverts', () => {
    // I_x(a, b) = 1 − I_{1−x}(b, a); I_½(a, a) = ½
    expect(betaCdf(0.3, 4, 9)).toBeCloseTo(1 - betaCdf(0.7, 9, 4), 12);
    expect(betaCdf(0.5, 7, 7)).toBeCloseTo(0.5, 12);
    expect(betaCdf(betaQuantile(0.3, 201, 4801), 201, 4801)).toBeCloseTo(0.3, 10);
  });

  it('log-gamma: ln Γ(n) = ln (n − 1)! and Γ(½) = √π', () => {
    expect(logGamma(1)).toBeCloseTo(0, 13);
    expect(logGamma(6)).toBeCloseTo(Math.log(120), 12);
    expect(logGamma(0.5)).toBeCloseTo(0.5 * Math.log(Math.PI), 12);
  });
});
