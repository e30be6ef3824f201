/**
 * BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way: an
 * alternative to the Pareto/NBD model", Marketing Science 24(2)): while alive a customer buys
 * at a Poisson rate λ ~ Gamma(r, alpha); after each purchase they drop out with probability
 * p ~ Beta(a, b). Time is in whatever unit the input data uses.
 */

import { systematicSample } from './aggregate.js';
import { aggregateBgNbd, buildData, toColumns, type BgNbdData } from './bgnbd-data.js';
import { bfgs, minimizeRobust } from './optimize.js';
import { betaExpectationBracket, concentratedBracket } from './bgnbd-beta.js';
import { betaln, digamma, gammaln, hyp2f1LogPositive, hyp2f1Minus1 } from './special.js';
import { checkHistory, checkNumber, checkParams, type CustomerHistory } from './validate.js';

/** Fitted BG/NBD parameters. */
export interface BgNbdParams {
  /** Shape of the purchase-rate gamma distribution. */
  r: number;
  /** Scale (in time units) of the purchase-rate gamma distribution. */
  alpha: number;
  /** First shape of the drop-out probability beta distribution. */
  a: number;
  /** Second shape of the drop-out probability beta distribution. */
  b: number;
}

/** BG/NBD parameters with the total log-likelihood they reach on the fitted data. */
export interface BgNbdFit extends BgNbdParams {
  /** Sum over customers of the log-likelihood at the fitted parameters. */
  logLikelihood: number;
  /** The optimiser's convergence test passed (false: stopped on a limit or a stall). */
  converged: boolean;
}

/** Options for {@link fitBgNbd}. */
export interface BgNbdFitOptions {
  /** Starting values; defaults r = 1, alpha = total T / total frequency, a = 1, b = 1. */
  initial?: Partial<BgNbdParams>;
  /** Gradient tolerance on the mean log-likelihood in log-parameter space (default 1e-10). */
  tolerance?: number;
  /** Iteration limit of the optimiser (default 500). */
  maxIterations?: number;
}

const PARAM_NAMES = ['r', 'alpha', 'a', 'b'] as const;
/** Log-parameters beyond this are treated as outside the domain (keeps exp() finite and meaningful). */
const LOG_BOUND = 30;
/** Above this many distinct T, recency and pattern values, warm-start from a sample fit. */
const WARM_START_WORK = 50_000;
const WARM_START_SAMPLE = 20_000;

/**
 * Mean negative log-likelihood over customers and its gradient with respect to
 * (ln r, ln alpha, ln a, ln b). Per customer (FHL 2005 eq. 6, in logs):
 *   ln L = lnΓ(r+x) - lnΓ(r) + r ln α - ln B(a,b) + ln B(a,b+x) - (r+x) ln(α+T)
 *          + [x > 0] ln(1 + a/(b+x-1) · ((α+T)/(α+t_x))^(r+x))
 * where the last term is the ln(A1 + A2) of the paper taken by log-sum-exp.
 * @internal exported for tests
 */
export function bgNbdObjective(data: BgNbdData, theta: number[]): { f: number; g: number[] } {
  if (theta.some((v) => !(Math.abs(v) <= LOG_BOUND))) return { f: Infinity, g: theta.map(() => NaN) };
  const [r, alpha, a, b] = theta.map(Math.exp) as [number, number, number, number];
  const lnAlpha = Math.log(alpha);
  const lnBab = betaln(a, b);
  const psiR = digamma(r);
  const psiAB = digamma(a + b);
  const psiB = digamma(b);
  let ll = 0;
  let gr = 0;
  let gal = 0;
  let ga = 0;
  let gb = 0;
  const { xs, xW, Ts, tW, tXW, txs, rx, rT, rTx, rW } = data;
  const { lnK, sByX, lnAT, invAT, lnATx, invATx } = data.scratch;
  for (let i = 0; i < xs.length; i++) {
    const x = xs[i]!;
    const w = xW[i]!;
    ll += w * (gammaln(r + x) - gammaln(r) + r * lnAlpha - lnBab + betaln(a, b + x));
    gr += w * (digamma(r + x) - psiR + lnAlpha);
    gal += (w * r) / alpha;
    const psiABX = digamma(a + b + x);
    ga += w * (psiAB - psiABX);
    gb += w * (psiAB - psiB + digamma(b + x) - psiABX);
    lnK[i] = x > 0 ? Math.log(a / (b + x - 1)) : -Infinity;
  }
  for (let j = 0; j < Ts.length; j++) {
    lnAT[j] = Math.log(alpha + Ts[j]!);
    invAT[j] = 1 / (alpha + Ts[j]!);
    const rw = r * tW[j]! + tXW[j]!;
    ll -= rw * lnAT[j]!;
    gr -= tW[j]! * lnAT[j]!;
    gal -= rw * invAT[j]!;
  }
  for (let k = 0; k < txs.length; k++) {
    lnATx[k] = Math.log(alpha + txs[k]!);
    invATx[k] = 1 / (alpha + txs[k]!);
  }
  // Repeat buyers: ln(1 + e^y) with y = ln k + (r+x) ln((α+T)/(α+t_x)), and its sigmoid for the gradient.
  sByX.fill(0);
  for (let p = 0; p < rW.length; p++) {
    const xi = rx[p]!;
    const j = rT[p]!;
    const k = rTx[p]!;
    const rx1 = r + xs[xi]!;
    const dLn = lnAT[j]! - lnATx[k]!;
    const y = lnK[xi]! + rx1 * dLn;
    let soft: number;
    let sig: number;
    if (y > 0) {
      const e = Math.exp(-y);
      soft = y + Math.log1p(e);
      sig = 1 / (1 + e);
    } else {
      const e = Math.exp(y);
      soft = Math.log1p(e);
      sig = e / (1 + e);
    }
    const w = rW[p]!;
    const ws = w * sig;
    ll += w * soft;
    gr += ws * dLn;
    gal += ws * rx1 * (invAT[j]! - invATx[k]!);
    sByX[xi] += ws;
  }
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] === 0) continue; // no repeat-buyer term (and b + x - 1 may be 0)
    ga += sByX[i]! / a;
    gb -= sByX[i]! / (b + xs[i]! - 1);
  }
  const n = data.n;
  if (!Number.isFinite(ll)) return { f: Infinity, g: theta.map(() => NaN) };
  return { f: -ll / n, g: [(-gr * r) / n, (-gal * alpha) / n, (-ga * a) / n, (-gb * b) / n] };
}

/**
 * Total BG/NBD log-likelihood of rows at given parameters (sum over customers).
 * @param params model parameters
 * @param rows customer summaries
 */
export function bgNbdLogLikelihood(params: BgNbdParams, rows: readonly CustomerHistory[]): number {
  const p = checkParams(params, PARAM_NAMES, 'BG/NBD');
  const data = aggregateBgNbd(rows);
  return (
    -bgNbdObjective(
      data,
      PARAM_NAMES.map((k) => Math.log(p[k])),
    ).f * data.n
  );
}

/**
 * Fits the BG/NBD model by maximum likelihood.
 *
 * Identical (frequency, recency, T) rows are aggregated with weights first, and the likelihood is
 * maximised over log-parameters by BFGS with the analytic gradient (warm-started from a fit to a
 * systematic sample when the data are large); Nelder-Mead with restarts takes over if BFGS does
 * not converge.
 * With very little data, or data that carry no sign of drop-out, the likelihood is maximised at
 * the edge of the parameter space and some estimates come out extreme (say 1e9); they are still
 * the maximum-likelihood answer, and predictions from them stay finite.
 * @param rows one summary per customer; frequency = repeat purchases, recency and T in one time unit
 * @param options starting values and tolerances
 * @returns parameters and the total log-likelihood (sum over customers)
 * @throws RangeError naming the row index for invalid rows, or when the data cannot identify the model
 */
export function fitBgNbd(rows: readonly CustomerHistory[], options: BgNbdFitOptions = {}): BgNbdFit {
  const cols = toColumns(rows);
  const data = buildData(cols);
  let totalX = 0;
  let totalT = 0;
  for (let i = 0; i < data.xs.length; i++) totalX += data.xs[i]! * data.xW[i]!;
  for (let j = 0; j < data.Ts.length; j++) totalT += data.Ts[j]! * data.tW[j]!;
  if (totalX === 0)
    throw new RangeError('fitBgNbd: no customer has a repeat purchase (all frequency = 0); the model cannot be fitted');
  if (totalT === 0) throw new RangeError('fitBgNbd: every customer has T = 0; there is no observation time to fit');
  const init = options.initial ?? {};
  const start: BgNbdParams = { r: init.r ?? 1, alpha: init.alpha ?? totalT / totalX, a: init.a ?? 1, b: init.b ?? 1 };
  for (const k of PARAM_NAMES) checkNumber(start[k], `initial.${k}`, undefined, 0, true);
  let theta0 = PARAM_NAMES.map((k) => Math.log(start[k]));
  let H0: number[][] | undefined;
  if (!options.initial && data.Ts.length + data.txs.length + data.rW.length > WARM_START_WORK) {
    // Fit a systematic sample first: its optimum and curvature (of the mean log-likelihood, so
    // comparable) leave the full-data BFGS a few Newton-like steps from convergence.
    const idx = systematicSample(data.n, WARM_START_SAMPLE);
    const pick = (col: Float64Array): Float64Array => Float64Array.from(idx, (i) => col[i]!);
    const sample = buildData({ x: pick(cols.x), tx: pick(cols.tx), T: pick(cols.T) });
    if (sample.rW.length > 0) {
      const pre = bfgs((t) => bgNbdObjective(sample, t), theta0, { gradientTolerance: 1e-6 });
      theta0 = pre.x;
      H0 = pre.inverseHessian;
    }
  }
  const work = data.Ts.length + data.txs.length + data.rW.length; // per-evaluation cost
  const best = minimizeRobust((theta) => bgNbdObjective(data, theta), theta0, {
    gradientTolerance: options.tolerance ?? 1e-10,
    maxIterations: options.maxIterations ?? 500,
    initialInverseHessian: H0,
    fallbackEvaluations: Math.round(Math.min(2000, Math.max(200, 2e7 / work))),
  });
  const [r, alpha, a, b] = best.x.map(Math.exp) as [number, number, number, number];
  return { r, alpha, a, b, logLikelihood: -best.f * data.n, converged: best.converged };
}

/** ln of the odds "dropped out : alive" given the history; -Infinity when frequency is 0. */
function logOddsDead(p: BgNbdParams, x: number, tx: number, T: number): number {
  if (x === 0) return -Infinity;
  return Math.log(p.a / (p.b + x - 1)) + (p.r + x) * (Math.log(p.alpha + T) - Math.log(p.alpha + tx));
}

function sigmoidNeg(y: number): number {
  // 1 / (1 + e^y) without overflow either way.
  return y > 0 ? Math.exp(-y) / (1 + Math.exp(-y)) : 1 / (1 + Math.exp(y));
}

/**
 * Probability that a customer with this history is still alive (FHL 2005; Fader, Hardie & Lee
 * note "Computing P(alive) using the BG/NBD model"). Exactly 1 when frequency is 0, because
 * in the BG/NBD a customer can only drop out right after a repeat purchase.
 * @param params fitted parameters
 * @param customer the customer's frequency, recency and T
 */
export function bgNbdPAlive(params: BgNbdParams, customer: CustomerHistory): number {
  const p = checkParams(params, PARAM_NAMES, 'BG/NBD');
  const c = checkHistory(customer, undefined);
  return sigmoidNeg(logOddsDead(p, c.frequency, c.recency, c.T));
}

/** Half-width of the parameter bracket used to step over the removable singularities a = 1 and c = 0. */
const SINGULAR_GAP = 1e-4;

/**
 * FHL 2005 eq. 10 (eq. 7 is the case x = t_x = T = 0), for validated input. Eq. 10 is P(alive)
 * times the expectation given alive, which depends on x and T only; `alive = false` leaves the
 * P(alive) factor out (t_x is then unused), so callers can share that part across customers.
 */
function expectedCore(p: BgNbdParams, t: number, x: number, tx: number, T: number, withPAlive = true): number {
  if (t === 0) return 0;
  const { r, alpha, a, b } = p;
  // The formula is 0/0 at a = 1 (and at a + b + x - 1 = 0) but the expectation is smooth there:
  // interpolate linearly between parameter values on either side.
  if (Math.abs(a - 1) < SINGULAR_GAP / 2) {
    const lo = expectedCore({ ...p, a: 1 - SINGULAR_GAP }, t, x, tx, T, withPAlive);
    const hi = expectedCore({ ...p, a: 1 + SINGULAR_GAP }, t, x, tx, T, withPAlive);
    return lo + ((hi - lo) * (a - 1 + SINGULAR_GAP)) / (2 * SINGULAR_GAP);
  }
  const c = a + b + x - 1;
  if (Math.abs(c) < SINGULAR_GAP / 2) {
    // With b too small to step below the singularity (a fit at the edge of its range, b → 0),
    // halving b could stay inside it forever: extrapolate from two points above it instead.
    const below = b - c - SINGULAR_GAP > 0;
    const b0 = below ? b - c - SINGULAR_GAP : b - c + 2 * SINGULAR_GAP;
    const b1 = b - c + SINGULAR_GAP;
    const lo = expectedCore({ ...p, b: b0 }, t, x, tx, T, withPAlive);
    const hi = expectedCore({ ...p, b: b1 }, t, x, tx, T, withPAlive);
    return lo + ((hi - lo) * (b - b0)) / (b1 - b0);
  }
  const alive = withPAlive ? sigmoidNeg(logOddsDead(p, x, tx, T)) : 1;
  const z = t / (alpha + T + t);
  const lnOneMinusZ = -Math.log1p(t / (alpha + T));
  const concentrated = concentratedBracket(r + x, a, b + x, t / (alpha + T));
  if (concentrated !== null) return finiteExpectation((c / (a - 1)) * concentrated * alive, t, x, tx, T);
  // 1 - (1-z)^(r+x) 2F1(r+x, b+x; c; z) through logs and expm1: no overflow when 2F1 is huge
  // (many purchases), and full precision for small t where both terms are near 1.
  let bracket: number;
  if (c > 0) {
    try {
      bracket = -Math.expm1((r + x) * lnOneMinusZ + hyp2f1LogPositive(r + x, b + x, c, z));
    } catch (err) {
      // Large a + b near z = 1: the series and its transformations fail; integrate instead.
      const q = betaExpectationBracket(r + x, a, b + x, t / (alpha + T));
      if (q === null) throw err;
      bracket = q;
    }
  } else {
    // c < 0 only for x = 0 with a + b < 1; terms then change sign, so use the general 2F1.
    const fm1 = hyp2f1Minus1(r + x, b + x, c, z);
    bracket =
      fm1 > -1 ? -Math.expm1((r + x) * lnOneMinusZ + Math.log1p(fm1)) : 1 - Math.exp((r + x) * lnOneMinusZ) * (1 + fm1);
  }
  return finiteExpectation((c / (a - 1)) * bracket * alive, t, x, tx, T);
}

function finiteExpectation(value: number, t: number, x: number, tx: number, T: number): number {
  if (!Number.isFinite(value))
    throw new RangeError(`BG/NBD expected purchases not finite for t=${t}, x=${x}, t_x=${tx}, T=${T}`);
  return Math.max(0, value);
}

/**
 * Expected number of purchases in the next t time units for a customer with this history:
 * E[Y(t) | x, t_x, T] (FHL 2005 eq. 10, using the Gauss hypergeometric function).
 * @param params fitted parameters
 * @param t prediction horizon, >= 0, in the data's time unit
 * @param customer the customer's frequency, recency and T
 */
export function bgNbdExpectedPurchases(params: BgNbdParams, t: number, customer: CustomerHistory): number {
  const p = checkParams(params, PARAM_NAMES, 'BG/NBD');
  checkNumber(t, 't', undefined);
  const c = checkHistory(customer, undefined);
  return expectedCore(p, t, c.frequency, c.recency, c.T);
}

/**
 * Expected purchases in the next t time units of a customer with this frequency and T, given that
 * they are still alive: `bgNbdExpectedPurchases` = `bgNbdPAlive` × this. It does not depend on the
 * recency, so customers with the same frequency and T share it (scoring computes it once per pair).
 * @param params fitted parameters
 * @param t prediction horizon, >= 0, in the data's time unit
 * @param customer the customer's frequency and T
 */
export function bgNbdExpectedPurchasesIfAlive(
  params: BgNbdParams,
  t: number,
  customer: { frequency: number; T: number },
): number {
  const p = checkParams(params, PARAM_NAMES, 'BG/NBD');
  checkNumber(t, 't', undefined);
  const c = checkHistory({ frequency: customer?.frequency, recency: 0, T: customer?.T }, undefined);
  return expectedCore(p, t, c.frequency, 0, c.T, false);
}

/**
 * Expected number of repeat purchases E[X(t)] in the first t time units of a new, randomly
 * chosen customer (FHL 2005 eq. 7).
 * @param params fitted parameters
 * @param t time since the first purchase, >= 0
 */
export function bgNbdExpectedPurchasesNew(params: BgNbdParams, t: number): number {
  const p = checkParams(params, PARAM_NAMES, 'BG/NBD');
  checkNumber(t, 't', undefined);
  return expectedCore(p, t, 0, 0, 0);
}
