import { describe, expect, it } from 'vitest';
import { bgNbdExpectedPurchases, bgNbdPAlive, customerLifetimeValue } from '../../../src/dormancy/model/index.js';
import { betaExpectationBracket, concentratedBracket } from '../../../src/dormancy/model/bgnbd-beta.js';
import { hyp2f1LogPositive } from '../../../src/dormancy/model/special.js';

const relErr = (x: number, y: number) => Math.abs(x - y) / Math.max(Math.abs(y), 1e-300);

/**
 * The limit of BG/NBD for a, b -> infinity with a/(a+b) = p fixed: every customer drops out with
 * probability p after each purchase, so E[Y(t) | alive, λ] = (1 - e^(-λ p t)) / p and, with
 * λ ~ Gamma(r + x, alpha + T) given the history, E[Y(t)] = P(alive) (1 - (1 + p t/(alpha+T))^-(r+x)) / p.
 */
function fixedDropoutExpectation(
  r: number,
  alpha: number,
  p: number,
  pAlive: number,
  t: number,
  x: number,
  T: number,
): number {
  return (pAlive * -Math.expm1(-(r + x) * Math.log1p((p * t) / (alpha + T)))) / p;
}

describe('BG/NBD at the edge of the parameter space (a, b ~ 1e11: a constant drop-out probability)', () => {
  // A fit of a small demo shop: the likelihood is flat along a/(a+b) = const and the optimiser stops far out.
  const demoFit = { r: 1.138, alpha: 37.93, a: 1.336e11, b: 3.398e12 };
  const smallAlpha = { ...demoFit, alpha: 0.5 };

  it('gives finite expectations equal to the fixed-drop-out limit, where the 2F1 series used to not converge', () => {
    for (const params of [demoFit, smallAlpha]) {
      const p = params.a / (params.a + params.b);
      for (const [x, tx, T] of [
        [0, 0, 0],
        [0, 0, 1],
        [1, 0, 0],
        [3, 20, 40],
        [20, 300, 400],
        [400, 700, 700],
      ] as const) {
        const history = { frequency: x, recency: tx, T };
        const pAlive = bgNbdPAlive(params, history);
        for (const t of [1, 30, 90, 365]) {
          const e = bgNbdExpectedPurchases(params, t, history);
          expect(Number.isFinite(e), `x=${x} T=${T} t=${t}`).toBe(true);
          expect(relErr(e, fixedDropoutExpectation(params.r, params.alpha, p, pAlive, t, x, T))).toBeLessThan(1e-6);
        }
      }
    }
  });

  it('customer lifetime value stays finite for a one-order customer with T = 0 (the demo crash)', () => {
    const v = customerLifetimeValue(
      smallAlpha,
      { p: 1, q: 2, v: 1 },
      { frequency: 0, recency: 0, T: 0, monetaryValue: 1 },
      { horizon: 365, step: 30, discountRatePerPeriod: 0.008 },
    );
    expect(Number.isFinite(v) && v > 0).toBe(true);
  });

  it('the expansion and the quadrature agree with the series where the series converges', () => {
    let cases = 0;
    let expanded = 0;
    for (const [a, b] of [
      [3, 10],
      [50, 200],
      [2e4, 1e5],
      [1.5e4, 3e4],
      [5e3, 1e6],
    ] as const) {
      for (const r of [0.3, 1.2, 5]) {
        for (const x of [0, 1, 5, 30]) {
          for (const T of [0, 10, 100, 700]) {
            for (const t of [30, 90, 365]) {
              const alpha = 20;
              const A = r + x;
              const u = t / (alpha + T);
              const series = -Math.expm1(
                -A * Math.log1p(u) + hyp2f1LogPositive(A, b + x, a + b + x - 1, t / (alpha + T + t)),
              );
              const q = betaExpectationBracket(A, a, b + x, u);
              const e = concentratedBracket(A, a, b + x, u);
              expect(q).not.toBeNull();
              expect(relErr(q!, series)).toBeLessThan(1e-8);
              if (e !== null) {
                expect(relErr(e, series)).toBeLessThan(1e-8);
                expanded++;
              }
              cases++;
            }
          }
        }
      }
    }
    expect(cases).toBeGreaterThan(500);
    expect(expanded).toBeGreaterThan(50);
  });

  it('the fallbacks decline shapes they are not accurate for', () => {
    expect(concentratedBracket(1, 0.8, 3.5, 1)).toBeNull(); // a <= 1
    expect(concentratedBracket(1, 3, 10, 1)).toBeNull(); // a + b small
    expect(betaExpectationBracket(1, 1.5, 10, 1)).toBeNull(); // beta(0.5, ...) is singular at 0
  });

  it('a fit with a and b near 0 (a + b + x − 1 inside the singular band, b too small to step below it) stays finite and smooth', () => {
    // Parameters a drop-out fit ended at on a small shop's training window; this used to recurse without end.
    const p = { r: 0.8959622331104695, alpha: 43.18407488892504, a: 1.04043434152647e-7, b: 3.0934051974220454e-7 };
    const h = { frequency: 1, recency: 13, T: 19 };
    const e = bgNbdExpectedPurchases(p, 90, h);
    expect(Number.isFinite(e)).toBe(true);
    expect(relErr(e, bgNbdExpectedPurchases({ ...p, b: 1e-3 }, 90, h))).toBeLessThan(0.005);
  });
});
