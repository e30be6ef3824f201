/**
 * A light regularity-aware return model: the idea of Pareto/GGG (Platzer & Reutterer 2016:
 * gamma-distributed inter-purchase times, so a clockwork buyer who misses a beat is a stronger
 * sign of churn than an erratic one) without its MCMC. Per customer, closed forms only:
 *
 * - intervals τ ~ Gamma(k, λ) (shape k = regularity, rate λ), λ ~ Gamma(k·w, w·m₀) a prior worth
 *   `w` intervals of the shop's usual interval m₀: the posterior after x intervals summing to Στ
 *   is Gamma(k(w + x), w·m₀ + Στ), and the predictive next interval is a scaled beta-prime,
 *   P(τ ≤ u) = I_{u/(u+B)}(k, A);
 * - k from the customer's own log-moments (Minka's approximation of the gamma ML estimate),
 *   shrunk on the log scale toward the shop's k₀ with `wk` pseudo-intervals;
 * - after each purchase the customer drops out with probability p ~ Beta(a, b) across customers
 *   (the BG/NBD's drop-out, here also after the first purchase), which integrates in closed form:
 *   P(alive | x, s) = (b + x)·S(s) / ((b + x)·S(s) + a), S the predictive survival at the time s
 *   since the last purchase.
 *
 * P(return within h) = (b + x)·(S(s) − S(s + h)) / ((b + x)·S(s) + a).
 */
import { betaCdf } from '../metrics/stats/distributions.js';
import { betaln, nelderMead } from './model/index.js';

/** Shop-level parameters of the regularity model. */
export interface RegularityParams {
  /** Usual interval of the shop, days (prior mean of the interval). */
  m0: number;
  /** Shop regularity: gamma shape of the intervals (1 = memoryless, larger = more regular). */
  k0: number;
  /** Drop-out heterogeneity Beta(a, b). */
  a: number;
  b: number;
  /** Prior weights in pseudo-intervals for the rate and the shape. */
  w: number;
  wk: number;
  /** The drop-out fit converged, and whether a parameter ended at the edge of its range. */
  converged: boolean;
  atBoundary: boolean;
}

/** What the model needs of a customer at a cut-off, days. */
export interface RegularityInput {
  /** Repeat purchase days. */
  x: number;
  /** Days from the first to the last purchase day (sum of the intervals). */
  sumInterval: number;
  /** Sum of the logarithms of the intervals. */
  sumLogInterval: number;
  /** Days since the last purchase day. */
  sinceLast: number;
}

const K_MIN = 0.1;
const K_MAX = 50;

/** Minka's closed-form approximation of the gamma shape from s = ln(mean) − mean(ln). */
export function gammaShapeFromLogMoments(s: number): number {
  if (!(s > 1e-9)) return K_MAX;
  const k = (3 - s + Math.sqrt((s - 3) * (s - 3) + 24 * s)) / (12 * s);
  return Math.min(K_MAX, Math.max(K_MIN, k));
}

/** The customer's own gamma shape, or null with fewer than two intervals. */
export function ownShape(c: Pick<RegularityInput, 'x' | 'sumInterval' | 'sumLogInterval'>): number | null {
  if (c.x < 2 || c.sumInterval <= 0) return null;
  return gammaShapeFromLogMoments(Math.log(c.sumInterval / c.x) - c.sumLogInterval / c.x);
}

/** Predictive survival of the next interval and the customer's posterior, for one customer. */
function survival(p: RegularityParams, c: RegularityInput): (u: number) => number {
  const own = ownShape(c);
  const n = Math.max(0, c.x - 1);
  const k = own === null ? p.k0 : Math.exp((n * Math.log(own) + p.wk * Math.log(p.k0)) / (n + p.wk));
  const A = k * (p.w + c.x);
  const B = p.w * p.m0 + c.sumInterval;
  return (u) => (u <= 0 ? 1 : 1 - betaCdf(u / (u + B), k, A));
}

/** P(alive) and P(at least one purchase within `horizon` days) of one customer. */
export function regularityPredict(
  p: RegularityParams,
  c: RegularityInput,
  horizon: number,
): { pAlive: number; pReturn: number } {
  const S = survival(p, c);
  const s0 = S(c.sinceLast);
  const s1 = S(c.sinceLast + horizon);
  const bx = p.b + c.x;
  const denom = bx * s0 + p.a;
  return { pAlive: (bx * s0) / denom, pReturn: (bx * Math.max(0, s0 - s1)) / denom };
}

const LOG_BOUND = 12;

/**
 * Fits the shop parameters on customers at one cut-off: m₀ and k₀ as medians of the own mean
 * intervals and own shapes (robust, and cheap), then the drop-out Beta(a, b) by maximum
 * likelihood, which only needs S(s) per customer:
 * ln L = Σ ln B(a + 1, b + x) + ln(1 + S(s)·(b + x)/a) − ln B(a, b).
 */
export function fitRegularity(
  rows: readonly RegularityInput[],
  defaultInterval = 30,
  weights = { w: 2, wk: 2 },
): RegularityParams {
  const means: number[] = [];
  const shapes: number[] = [];
  for (const c of rows) {
    if (c.x >= 1) means.push(c.sumInterval / c.x);
    const k = ownShape(c);
    if (k !== null) shapes.push(k);
  }
  const med = (v: number[]): number | null => {
    if (v.length === 0) return null;
    v.sort((x, y) => x - y);
    const h = v.length >> 1;
    return v.length % 2 ? v[h]! : (v[h - 1]! + v[h]!) / 2;
  };
  const m0 = Math.max(1, med(means) ?? defaultInterval);
  const k0 = med(shapes) ?? 1;
  const base: RegularityParams = { m0, k0, a: 1, b: 3, ...weights, converged: false, atBoundary: false };
  const xs = new Float64Array(rows.length);
  const ss = new Float64Array(rows.length);
  rows.forEach((c, i) => {
    xs[i] = c.x;
    ss[i] = survival(base, c)(c.sinceLast);
  });
  let maxX = 0;
  for (const x of xs) maxX = Math.max(maxX, x);
  const lnB1 = new Float64Array(maxX + 1);
  const counts = new Float64Array(maxX + 1);
  for (const x of xs) counts[x]!++;
  const negLL = (theta: number[]): number => {
    if (Math.abs(theta[0]!) > LOG_BOUND + 1 || Math.abs(theta[1]!) > LOG_BOUND + 1) return Infinity;
    const a = Math.exp(theta[0]!);
    const b = Math.exp(theta[1]!);
    let ll = -rows.length * betaln(a, b);
    for (let x = 0; x <= maxX; x++) if (counts[x]! > 0) ll += counts[x]! * (lnB1[x] = betaln(a + 1, b + x));
    for (let i = 0; i < xs.length; i++) ll += Math.log1p((ss[i]! * (b + xs[i]!)) / a);
    return -ll / Math.max(1, rows.length);
  };
  const best = nelderMead(negLL, [0, Math.log(3)], { maxEvaluations: 600 });
  const [la, lb] = best.x as [number, number];
  return {
    ...base,
    a: Math.exp(la),
    b: Math.exp(lb),
    converged: best.converged,
    atBoundary: Math.abs(la) >= LOG_BOUND || Math.abs(lb) >= LOG_BOUND,
  };
}
