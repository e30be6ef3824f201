import { describe, expect, it } from 'vitest';
import { betaln, digamma, gammaln, hyp2f1, logSumExp } from '../../../src/dormancy/model/index.js';
import { hyp2f1LogPositive, hyp2f1Minus1 } from '../../../src/dormancy/model/special.js';

const EULER_GAMMA = 0.5772156649015329;

function closeTo(actual: number, expected: number, rel: number): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected)));
}

/** Plain defining series, summed to convergence: a reference where it converges (|z| < 1). */
function series(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 1;
  for (let n = 0; n < 1_000_000; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (Math.abs(term) < 1e-18 * Math.abs(sum) && n > 10) break;
  }
  return sum;
}

describe('gammaln, digamma, betaln, logSumExp', () => {
  it('match known values', () => {
    closeTo(gammaln(0.5), 0.5 * Math.log(Math.PI), 1e-14);
    closeTo(gammaln(1), 0, 1e-14);
    closeTo(gammaln(2), 0, 1e-14);
    closeTo(gammaln(10), Math.log(362880), 1e-14);
    closeTo(gammaln(100), 359.1342053695754, 1e-14);
    closeTo(gammaln(1e-8), 18.420680738180209, 1e-12); // ≈ -ln(x) - γx
    closeTo(gammaln(-0.5), Math.log(2 * Math.sqrt(Math.PI)), 1e-13); // |Γ(-1/2)| = 2√π
    expect(gammaln(0)).toBe(Infinity);
    expect(gammaln(-3)).toBe(Infinity);
    closeTo(digamma(1), -EULER_GAMMA, 1e-14);
    closeTo(digamma(0.5), -EULER_GAMMA - 2 * Math.LN2, 1e-14);
    closeTo(digamma(11), 7381 / 2520 - EULER_GAMMA, 1e-14); // ψ(n+1) = H_n - γ, H_10 = 7381/2520
    closeTo(digamma(-0.5), 2 - EULER_GAMMA - 2 * Math.LN2, 1e-13);
    closeTo(betaln(2, 3), Math.log(1 / 12), 1e-14);
    closeTo(betaln(0.5, 0.5), Math.log(Math.PI), 1e-14);
    closeTo(logSumExp(1000, 1000), 1000 + Math.LN2, 1e-15);
    expect(logSumExp(-Infinity, -Infinity)).toBe(-Infinity);
    closeTo(logSumExp(-800, 0), 0, 1e-15);
  });
});

describe('hyp2f1', () => {
  it('matches closed forms on both sides of the series / transformation switch (|z| = 0.75)', () => {
    for (const z of [-50, -0.9, -0.3, 0.1, 0.5, 0.74, 0.76, 0.9, 0.999, 1 - 1e-9]) {
      // c - a - b = 0: the logarithmic (integer) case of the z -> 1 - z transformation.
      closeTo(hyp2f1(1, 1, 2, z), -Math.log1p(-z) / z, 1e-12);
      // c - a - b = -1 and -0.37 (non-integer).
      closeTo(hyp2f1(1, 2.5, 2.5, z) * (1 - z), 1, 1e-12);
      closeTo(hyp2f1(0.37, 2.1, 2.1, z) / Math.pow(1 - z, -0.37), 1, 1e-12);
    }
    for (const s of [0.2, 0.8, 0.95, 0.999]) {
      closeTo(hyp2f1(0.5, 0.5, 1.5, s * s), Math.asin(s) / s, 1e-10); // c - a - b = 1/2
      closeTo(hyp2f1(0.5, 1, 1.5, s * s), Math.atanh(s) / s, 1e-9); // c - a - b = 0
    }
  });

  it('matches the defining series beyond the switch, including the BG/NBD parameter shapes', () => {
    // 2F1(r+x, b+x; a+b+x-1; z) with the CDNOW estimates, x = 0, 2, 10, 29.
    const [r, a, b] = [0.242593, 0.792886, 2.425753];
    for (const x of [0, 2, 10, 29]) {
      for (const z of [0.76, 0.85, 0.95]) {
        closeTo(hyp2f1(r + x, b + x, a + b + x - 1, z) / series(r + x, b + x, a + b + x - 1, z), 1, 1e-10);
      }
    }
    closeTo(hyp2f1(2.3, -1.7, 0.6, 0.9) / series(2.3, -1.7, 0.6, 0.9), 1, 1e-10);
    // c - a - b within 1e-9 of an integer: the interpolation in c must still be accurate.
    closeTo(hyp2f1(1.2, 0.8, 3 + 1e-9, 0.9) / series(1.2, 0.8, 3 + 1e-9, 0.9), 1, 1e-10);
    closeTo(hyp2f1(1.2, 0.8, 1 - 1e-9, 0.9) / series(1.2, 0.8, 1 - 1e-9, 0.9), 1, 1e-10);
  });

  it('handles polynomials, z = 1 (Gauss), and tiny z without cancellation', () => {
    const [b, c, z] = [1.3, 2.2, 0.97];
    closeTo(hyp2f1(-2, b, c, z), 1 - (2 * b * z) / c + (b * (b + 1) * z * z) / (c * (c + 1)), 1e-14);
    closeTo(hyp2f1(0.5, 0.5, 2, 1), 4 / Math.PI, 1e-14);
    closeTo(hyp2f1Minus1(1, 1, 2, 1e-12) / 5e-13, 1, 1e-9);
    expect(hyp2f1(3, 4, 5, 0)).toBe(1);
  });

  it('hyp2f1LogPositive gives ln 2F1 beyond the double range and at tiny z', () => {
    closeTo(hyp2f1LogPositive(3000, 7, 7, 0.9), -3000 * Math.log(0.1), 1e-13); // 2F1 = e^6908
    // Pfaff: ln 2F1(a, b; c; z) = -b ln(1-z) + ln 2F1(c-a, b; c; z/(z-1)), here with 2F1 ≈ e^1834.
    const pfaff = -2002.4 * Math.log(0.4) + Math.log(hyp2f1(2001.2 - 2000.24, 2002.4, 2001.2, 0.6 / (0.6 - 1)));
    closeTo(hyp2f1LogPositive(2000.24, 2002.4, 2001.2, 0.6), pfaff, 1e-12);
    for (const z of [1e-12, 0.3, 0.95, 0.995, 1 - 1e-9])
      closeTo(hyp2f1LogPositive(1, 1, 2, z), Math.log(-Math.log1p(-z) / z), 1e-13);
    closeTo(hyp2f1LogPositive(0.24, 2.4, 2.2, 0.5), Math.log(series(0.24, 2.4, 2.2, 0.5)), 1e-14);
    expect(() => hyp2f1LogPositive(-1, 1, 2, 0.5)).toThrow(RangeError);
  });

  it('throws RangeError where the function is undefined', () => {
    expect(() => hyp2f1(1, 1, 0, 0.5)).toThrow(RangeError);
    expect(() => hyp2f1(1, 1, -2, 0.5)).toThrow(/pole/);
    expect(() => hyp2f1(1, 1, 2, 1.5)).toThrow(/branch cut/);
    expect(() => hyp2f1(1, 1, 2, 1)).toThrow(/diverges/);
    expect(() => hyp2f1(Number.NaN, 1, 2, 0.5)).toThrow(/finite/);
  });
});
