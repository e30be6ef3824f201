import { describe, expect, it } from 'vitest';
import { bfgs, nelderMead } from '../../../src/dormancy/model/index.js';
import { minimizeRobust, numericGradient } from '../../../src/dormancy/model/optimize.js';

/** n-dimensional Rosenbrock function and its gradient; minimum 0 at (1, ..., 1). */
function rosenbrock(x: number[]): number {
  let f = 0;
  for (let i = 0; i < x.length - 1; i++) f += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
  return f;
}
function rosenbrockFg(x: number[]): { f: number; g: number[] } {
  const g = x.map(() => 0);
  for (let i = 0; i < x.length - 1; i++) {
    const d = x[i + 1]! - x[i]! ** 2;
    g[i]! += -400 * x[i]! * d - 2 * (1 - x[i]!);
    g[i + 1]! += 200 * d;
  }
  return { f: rosenbrock(x), g };
}

describe('optimisers', () => {
  it('BFGS finds the Rosenbrock minimum with analytic and with numeric gradients', () => {
    const analytic = bfgs(rosenbrockFg, [-1.2, 1, -1.2, 1], { gradientTolerance: 1e-10 });
    expect(analytic.converged).toBe(true);
    for (const v of analytic.x) expect(v).toBeCloseTo(1, 7);
    const numeric = bfgs(rosenbrock, [-1.2, 1], { gradientTolerance: 1e-7 });
    for (const v of numeric.x) expect(v).toBeCloseTo(1, 5);
  });

  it('Nelder-Mead with restarts finds the Rosenbrock minimum', () => {
    const r = nelderMead(rosenbrock, [-1.2, 1, -1.2, 1], { maxEvaluations: 40000 });
    expect(r.converged).toBe(true);
    for (const v of r.x) expect(v).toBeCloseTo(1, 5);
  });

  it('treats Infinity as outside the domain (log-barrier style objective)', () => {
    // Minimum of x - ln x at x = 1, undefined for x <= 0; start far away so steps overshoot into x < 0.
    const f = (x: number[]): number => (x[0]! > 0 ? x[0]! - Math.log(x[0]!) : Infinity);
    const fg = (x: number[]): { f: number; g: number[] } => ({ f: f(x), g: [x[0]! > 0 ? 1 - 1 / x[0]! : Number.NaN] });
    expect(bfgs(fg, [20]).x[0]).toBeCloseTo(1, 8);
    expect(nelderMead(f, [20]).x[0]).toBeCloseTo(1, 6);
    expect(minimizeRobust(fg, [0.01]).x[0]).toBeCloseTo(1, 8);
  });

  it('numeric gradient agrees with the analytic one', () => {
    const x = [0.3, -0.7, 1.1];
    const g = numericGradient(rosenbrock, x);
    rosenbrockFg(x).g.forEach((gi, i) => expect(g[i]).toBeCloseTo(gi, 5));
  });
});
