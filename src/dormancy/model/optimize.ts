/**
 * Unconstrained minimisers for smooth, low-dimensional objectives (the model fitters minimise a
 * negative log-likelihood over log-transformed parameters, so "unconstrained" is enough):
 * BFGS with an analytic or central-difference gradient, and Nelder-Mead with restarts.
 */

/** Result of a minimisation. */
export interface MinimizeResult {
  /** Best point found. */
  x: number[];
  /** Objective value at `x`. */
  f: number;
  /** Objective evaluations used (gradient evaluations count once each). */
  evaluations: number;
  /** Iterations of the main loop. */
  iterations: number;
  /** Whether the convergence test passed (false: stopped on the iteration limit or a stall). */
  converged: boolean;
  /** BFGS only: the gradient at `x`. */
  gradient?: number[];
  /** BFGS only: the final inverse-Hessian approximation, reusable as a warm start. */
  inverseHessian?: number[][];
}

/** Objective returning value and gradient at once (they share most of the work). */
export type ValueAndGradient = (x: number[]) => { f: number; g: number[] };

/** Options for {@link bfgs}. */
export interface BfgsOptions {
  /** Stop when every gradient component is at most this (default 1e-9). */
  gradientTolerance?: number;
  /** Also stop when f changes by at most this, relatively, on an accepted step (default 1e-14). */
  valueTolerance?: number;
  /** Iteration limit (default 500). */
  maxIterations?: number;
  /** Largest step length (infinity norm) tried by the line search (default 4). */
  maxStep?: number;
  /** Starting inverse-Hessian approximation (default: identity, rescaled after the first step). */
  initialInverseHessian?: number[][];
}

/**
 * Central-difference gradient, for objectives without an analytic one.
 * @param f objective
 * @param x point
 */
export function numericGradient(f: (x: number[]) => number, x: number[]): number[] {
  return x.map((xi, i) => {
    const h = 6e-6 * Math.max(1, Math.abs(xi)); // ~ cube root of machine epsilon
    const up = x.slice();
    const down = x.slice();
    up[i] = xi + h;
    down[i] = xi - h;
    return (f(up) - f(down)) / (2 * h);
  });
}

const dot = (u: number[], v: number[]): number => u.reduce((s, ui, i) => s + ui * v[i]!, 0);
const normInf = (u: number[]): number => u.reduce((m, ui) => Math.max(m, Math.abs(ui)), 0);

/**
 * BFGS quasi-Newton minimisation with a backtracking (Armijo) line search. Non-finite objective
 * values are treated as "too far" and shrink the step, so an objective may return Infinity
 * outside its domain.
 * @param fg objective returning value and gradient; or a plain objective, differentiated numerically
 * @param x0 starting point
 * @param options tolerances and limits
 */
export function bfgs(
  fg: ValueAndGradient | ((x: number[]) => number),
  x0: number[],
  options: BfgsOptions = {},
): MinimizeResult {
  const gtol = options.gradientTolerance ?? 1e-9;
  const ftol = options.valueTolerance ?? 1e-14;
  const maxIter = options.maxIterations ?? 500;
  const maxStep = options.maxStep ?? 4;
  const n = x0.length;
  let evaluations = 0;
  const evaluate = (x: number[]): { f: number; g: number[] } => {
    evaluations++;
    const out = fg(x);
    if (typeof out === 'number') {
      evaluations += 2 * n;
      const plain = fg as (x: number[]) => number;
      return { f: out, g: Number.isFinite(out) ? numericGradient(plain, x) : x.map(() => NaN) };
    }
    return out;
  };
  const identity = (): number[][] =>
    Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0)));

  let x = x0.slice();
  let { f, g } = evaluate(x);
  if (!Number.isFinite(f) || !g.every(Number.isFinite))
    throw new RangeError('bfgs: objective is not finite at the starting point');
  let H = options.initialInverseHessian?.map((row) => row.slice()) ?? identity(); // inverse Hessian approximation
  let firstUpdate = !options.initialInverseHessian;
  let iterations = 0;
  let converged = normInf(g) <= gtol;
  while (!converged && iterations < maxIter) {
    iterations++;
    let d = H.map((row) => -dot(row, g));
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (H lost positive definiteness numerically): restart from steepest descent.
      H = identity();
      d = g.map((gi) => -gi);
      slope = dot(g, d);
    }
    const scale = Math.min(1, maxStep / normInf(d));
    let step = scale;
    let accepted: { x: number[]; f: number; g: number[] } | undefined;
    for (let k = 0; k < 60; k++) {
      const xn = x.map((xi, i) => xi + step * d[i]!);
      const trial = evaluate(xn);
      if (Number.isFinite(trial.f) && trial.g.every(Number.isFinite)) {
        const decrease = trial.f <= f + 1e-4 * step * slope;
        // Near the optimum f changes below its rounding error; then a smaller gradient is progress.
        const flat = Math.abs(trial.f - f) <= 1e-14 * Math.max(1, Math.abs(f)) && normInf(trial.g) < normInf(g);
        if (decrease || flat) {
          accepted = { x: xn, ...trial };
          break;
        }
      }
      // Quadratic interpolation of the step, kept within [0.1, 0.5] of the current one.
      const q = Number.isFinite(trial.f) ? (-slope * step * step) / (2 * (trial.f - f - slope * step)) : 0.1 * step;
      step = Math.min(0.5 * step, Math.max(0.1 * step, q));
    }
    if (!accepted) break; // no decrease possible along d: we are at the optimum to machine precision
    const s = accepted.x.map((xi, i) => xi - x[i]!);
    const y = accepted.g.map((gi, i) => gi - g[i]!);
    const fPrev = f;
    x = accepted.x;
    f = accepted.f;
    g = accepted.g;
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (firstUpdate) {
        // Scale the initial inverse Hessian to the observed curvature (Nocedal & Wright 6.20).
        const gamma = sy / dot(y, y);
        H = H.map((row) => row.map((v) => v * gamma));
        firstUpdate = false;
      }
      const Hy = H.map((row) => dot(row, y));
      const yHy = dot(y, Hy);
      const rho = 1 / sy;
      H = H.map((row, i) =>
        row.map((v, j) => v - rho * (Hy[i]! * s[j]! + s[i]! * Hy[j]!) + (rho * rho * yHy + rho) * s[i]! * s[j]!),
      );
    }
    if (normInf(g) <= gtol) converged = true;
    else if (Math.abs(fPrev - f) <= ftol * Math.max(1, Math.abs(f)) && normInf(s) <= 1e-10) converged = true;
  }
  return { x, f, evaluations, iterations, converged, gradient: g, inverseHessian: H };
}

/** Options for {@link nelderMead}. */
export interface NelderMeadOptions {
  /** Initial simplex edge length per coordinate (default 0.5, suited to log-parameters). */
  initialStep?: number;
  /** Convergence: spread of f over the simplex (absolute, default 1e-12). */
  valueTolerance?: number;
  /** Convergence: largest coordinate distance within the simplex (default 1e-9). */
  pointTolerance?: number;
  /** Evaluation limit over all restarts (default 20000). */
  maxEvaluations?: number;
  /** Restarts from the best point with a fresh simplex, until one improves f by less than valueTolerance (default 5). */
  maxRestarts?: number;
}

/**
 * Nelder-Mead simplex minimisation with adaptive coefficients (Gao & Han 2012) and restarts:
 * after the simplex collapses it is rebuilt around the best point and run again, which guards
 * against the premature convergence the method is known for.
 * @param f objective; may return Infinity (or NaN) outside its domain
 * @param x0 starting point
 * @param options tolerances and limits
 */
export function nelderMead(f: (x: number[]) => number, x0: number[], options: NelderMeadOptions = {}): MinimizeResult {
  const n = x0.length;
  const ftol = options.valueTolerance ?? 1e-12;
  const xtol = options.pointTolerance ?? 1e-9;
  const maxEval = options.maxEvaluations ?? 20000;
  const maxRestarts = options.maxRestarts ?? 5;
  const alpha = 1;
  const beta = 1 + 2 / n;
  const gamma = 0.75 - 1 / (2 * n);
  const delta = 1 - 1 / n;
  let evaluations = 0;
  const F = (x: number[]): number => {
    evaluations++;
    const v = f(x);
    return Number.isNaN(v) ? Infinity : v;
  };
  let best = { x: x0.slice(), f: F(x0) };
  let iterations = 0;
  let converged = false;
  for (let restart = 0; restart <= maxRestarts && evaluations < maxEval; restart++) {
    const step = (options.initialStep ?? 0.5) / (restart + 1);
    let pts = [best.x.slice()];
    for (let i = 0; i < n; i++) {
      const p = best.x.slice();
      p[i] = p[i]! + step;
      pts.push(p);
    }
    let vals = pts.map((p, i) => (i === 0 ? best.f : F(p)));
    let collapsed = false;
    while (evaluations < maxEval) {
      iterations++;
      const order = vals.map((_, i) => i).sort((i, j) => vals[i]! - vals[j]!);
      pts = order.map((i) => pts[i]!);
      vals = order.map((i) => vals[i]!);
      const spreadF = vals[n]! - vals[0]!;
      const spreadX = Math.max(...pts.slice(1).map((p) => normInf(p.map((v, i) => v - pts[0]![i]!))));
      if (spreadF <= ftol && spreadX <= xtol) {
        collapsed = true;
        break;
      }
      const centroid = Array.from({ length: n }, (_, i) => pts.slice(0, n).reduce((s, p) => s + p[i]!, 0) / n);
      const worst = pts[n]!;
      const along = (t: number): number[] => centroid.map((c, i) => c + t * (c - worst[i]!));
      const xr = along(alpha);
      const fr = F(xr);
      if (fr < vals[0]!) {
        const xe = along(alpha * beta);
        const fe = F(xe);
        [pts[n], vals[n]] = fe < fr ? [xe, fe] : [xr, fr];
      } else if (fr < vals[n - 1]!) {
        [pts[n], vals[n]] = [xr, fr];
      } else {
        const outside = fr < vals[n]!;
        const xc = along(outside ? alpha * gamma : -gamma);
        const fc = F(xc);
        if (fc < (outside ? fr : vals[n]!)) {
          [pts[n], vals[n]] = [xc, fc];
        } else {
          for (let i = 1; i <= n; i++) {
            pts[i] = pts[i]!.map((v, k) => pts[0]![k]! + delta * (v - pts[0]![k]!));
            vals[i] = F(pts[i]!);
          }
        }
      }
    }
    const i0 = vals.indexOf(Math.min(...vals));
    const improvement = best.f - vals[i0]!;
    if (vals[i0]! <= best.f) best = { x: pts[i0]!.slice(), f: vals[i0]! };
    // A restart that no longer improves f means the simplex found the same minimum twice.
    if (collapsed && restart > 0 && improvement <= ftol * Math.max(1, Math.abs(best.f))) {
      converged = true;
      break;
    }
  }
  return { x: best.x, f: best.f, evaluations, iterations, converged };
}

/** Options for {@link minimizeRobust}. */
export interface RobustOptions extends BfgsOptions {
  /** Run Nelder-Mead only if BFGS stalls with a gradient component above this (default 1e-6). */
  stallGradient?: number;
  /** Evaluation budget of the Nelder-Mead fallback (default 2000); lower it for expensive objectives. */
  fallbackEvaluations?: number;
}

/**
 * BFGS, restarted once with a fresh Hessian approximation if it did not converge, then
 * Nelder-Mead with restarts if it stalled away from a stationary point; returns the best point
 * found by any of them.
 * @param fg objective returning value and gradient
 * @param x0 starting point
 * @param options BFGS tolerances and limits, optional warm-start inverse Hessian, fallback limits
 */
export function minimizeRobust(fg: ValueAndGradient, x0: number[], options: RobustOptions = {}): MinimizeResult {
  let best = bfgs(fg, x0, options);
  if (best.converged) return best;
  const again = bfgs(fg, best.x, { ...options, initialInverseHessian: undefined });
  if (again.f <= best.f) best = again;
  // A stall with a tiny gradient is the optimum to machine precision (f no longer resolves steps).
  if (again.converged || normInf(best.gradient ?? [Infinity]) <= (options.stallGradient ?? 1e-6)) return best;
  const nm = nelderMead((x) => fg(x).f, best.x, { maxEvaluations: options.fallbackEvaluations ?? 2000 });
  return nm.f < best.f ? nm : best;
}
