/**
 * Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for
 * customer base analysis", JMR 42; Fader & Hardie note "The Gamma-Gamma model of monetary
 * value"): each transaction's value is Gamma(p, ν), and ν varies across customers as
 * Gamma(q, v). Fitted on repeat buyers' mean transaction value; independent of frequency.
 */

import { countPatterns, uniqueIndex } from './aggregate.js';
import { minimizeRobust } from './optimize.js';
import { digamma, gammaln } from './special.js';
import { checkFrequency, checkNumber, checkParams, checkRows } from './validate.js';

/** Fitted Gamma-Gamma parameters. */
export interface GammaGammaParams {
  /** Shape of the per-transaction value distribution. */
  p: number;
  /** Shape of the across-customer distribution of the per-transaction scale. */
  q: number;
  /** Scale of the across-customer distribution (in money units). */
  v: number;
}

/** Gamma-Gamma parameters with the total log-likelihood they reach on the fitted data. */
export interface GammaGammaFit extends GammaGammaParams {
  /** Sum over the repeat buyers used of the log-likelihood at the fitted parameters. */
  logLikelihood: number;
  /** The optimiser's convergence test passed (false: stopped on a limit or a stall). */
  converged: boolean;
}

/** A customer's spend summary. */
export interface SpendHistory {
  /** Repeat purchases (as for BG/NBD); rows with 0 are skipped when fitting. */
  frequency: number;
  /** Mean value of the customer's repeat purchases (> 0 when frequency > 0). */
  monetaryValue: number;
}

const PARAM_NAMES = ['p', 'q', 'v'] as const;
const LOG_BOUND = 30;

/** Repeat buyers reduced to weighted unique (frequency, mean spend) pairs. @internal */
export interface GammaGammaData {
  n: number;
  xs: Float64Array; // unique frequencies
  xW: Float64Array; // customers per unique frequency
  rx: Int32Array; // pattern: index into xs
  x: Float64Array; //   frequency
  m: Float64Array; //   mean spend
  w: Float64Array; //   customer count
  sumW: number; // Σ w
  sumLnM: number; // Σ w ln m
  sumXLnXM: number; // Σ w x (ln x + ln m)
}

/**
 * Validates rows and aggregates the repeat buyers among them.
 * @internal exported for tests
 */
export function aggregateGammaGamma(rows: readonly unknown[]): GammaGammaData {
  checkRows(rows, 'fitGammaGamma');
  const X = new Float64Array(rows.length);
  const M = new Float64Array(rows.length);
  let k = 0;
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i] as Partial<SpendHistory> | null | undefined;
    let x = row?.frequency;
    let m = row?.monetaryValue;
    // Inline fast path for valid rows; anything else goes through the checkers, which name the problem.
    if (!(
      typeof x === 'number' &&
      typeof m === 'number' &&
      Number.isInteger(x) &&
      x >= 0 &&
      m < Infinity &&
      (x > 0 ? m > 0 : m >= 0)
    )) {
      if (typeof row !== 'object' || row === null)
        throw new RangeError(`row ${i}: expected an object { frequency, monetaryValue }, got ${String(row)}`);
      x = checkFrequency(row.frequency, i);
      m = checkNumber(row.monetaryValue, 'monetaryValue', i, 0, x > 0);
    }
    if (x === 0) continue; // one-time buyers carry no repeat-spend information
    X[k] = x;
    M[k++] = m;
  }
  if (k === 0)
    throw new RangeError('fitGammaGamma: no row has frequency > 0; the model is fitted on repeat buyers only');
  const xu = uniqueIndex(X.subarray(0, k));
  const mu = uniqueIndex(M.subarray(0, k));
  const pats = countPatterns([xu.index, mu.index], [xu.values.length, mu.values.length]);
  const [rx, rm] = pats.codes as [Int32Array, Int32Array];
  const w = pats.counts;
  const x = Float64Array.from(rx, (i) => xu.values[i]!);
  const m = Float64Array.from(rm, (i) => mu.values[i]!);
  const xW = new Float64Array(xu.values.length);
  let sumLnM = 0;
  let sumXLnXM = 0;
  for (let p = 0; p < w.length; p++) {
    xW[rx[p]!]! += w[p]!;
    sumLnM += w[p]! * Math.log(m[p]!);
    sumXLnXM += w[p]! * x[p]! * (Math.log(x[p]!) + Math.log(m[p]!));
  }
  return { n: k, xs: xu.values, xW, rx, x, m, w, sumW: k, sumLnM, sumXLnXM };
}

/**
 * Mean negative log-likelihood and its gradient in (ln p, ln q, ln v). Per customer, the density
 * of the mean spend m of x transactions:
 *   ln L = lnΓ(px+q) - lnΓ(px) - lnΓ(q) + q ln v + (px-1) ln m + px ln x - (px+q) ln(xm+v).
 * @internal exported for tests
 */
export function gammaGammaObjective(data: GammaGammaData, theta: number[]): { f: number; g: number[] } {
  if (theta.some((t) => !(Math.abs(t) <= LOG_BOUND))) return { f: Infinity, g: theta.map(() => NaN) };
  const [p, q, v] = theta.map(Math.exp) as [number, number, number];
  const lnV = Math.log(v);
  const psiQ = digamma(q);
  let ll = p * data.sumXLnXM - data.sumLnM + data.sumW * (q * lnV - gammaln(q));
  let gp = data.sumXLnXM;
  let gq = data.sumW * (lnV - psiQ);
  let gv = (data.sumW * q) / v;
  for (let i = 0; i < data.xs.length; i++) {
    const x = data.xs[i]!;
    const w = data.xW[i]!;
    const psiPXQ = digamma(p * x + q);
    ll += w * (gammaln(p * x + q) - gammaln(p * x));
    gp += w * x * (psiPXQ - digamma(p * x));
    gq += w * psiPXQ;
  }
  const { x, m, w } = data;
  for (let k = 0; k < w.length; k++) {
    const s = x[k]! * m[k]! + v;
    const lnS = Math.log(s);
    const c = p * x[k]! + q;
    ll -= w[k]! * c * lnS;
    gp -= w[k]! * x[k]! * lnS;
    gq -= w[k]! * lnS;
    gv -= (w[k]! * c) / s;
  }
  if (!Number.isFinite(ll)) return { f: Infinity, g: theta.map(() => NaN) };
  const n = data.n;
  return { f: -ll / n, g: [(-gp * p) / n, (-gq * q) / n, (-gv * v) / n] };
}

/**
 * Total Gamma-Gamma log-likelihood of the repeat buyers among rows at given parameters.
 * @param params model parameters
 * @param rows spend summaries; rows with frequency 0 are skipped
 */
export function gammaGammaLogLikelihood(params: GammaGammaParams, rows: readonly SpendHistory[]): number {
  const p = checkParams(params, PARAM_NAMES, 'Gamma-Gamma');
  const data = aggregateGammaGamma(rows);
  return (
    -gammaGammaObjective(
      data,
      PARAM_NAMES.map((k) => Math.log(p[k])),
    ).f * data.n
  );
}

/**
 * Fits the Gamma-Gamma spend model by maximum likelihood on the rows with frequency > 0
 * (BFGS on log-parameters with the analytic gradient; Nelder-Mead with restarts as fallback).
 * Without variation in spend (or with only a handful of repeat buyers) the maximum lies at the
 * edge of the parameter space and p or q come out extreme; the conditional expectations stay finite.
 * @param rows one spend summary per customer
 * @returns parameters and the total log-likelihood over the repeat buyers
 * @throws RangeError naming the row index for invalid rows, or when no row has frequency > 0
 */
export function fitGammaGamma(rows: readonly SpendHistory[]): GammaGammaFit {
  const data = aggregateGammaGamma(rows);
  let meanM = 0;
  for (let k = 0; k < data.w.length; k++) meanM += (data.w[k]! * data.m[k]!) / data.sumW;
  // Start with q = 2 and v = mean spend, so that the implied population mean p·v/(q-1) is the sample mean.
  const start = [0, Math.log(2), Math.log(meanM)];
  const best = minimizeRobust((theta) => gammaGammaObjective(data, theta), start, {
    gradientTolerance: 1e-10,
    fallbackEvaluations: Math.round(Math.min(2000, Math.max(200, 2e7 / data.w.length))),
  });
  const [p, q, v] = best.x.map(Math.exp) as [number, number, number];
  return { p, q, v, logLikelihood: -best.f * data.n, converged: best.converged };
}

/**
 * Conditional expected mean transaction value of a customer: a credibility-weighted average of
 * the customer's own mean spend and the population mean p·v/(q-1) (Fader & Hardie note, eq. 5).
 * For frequency 0 this is the population mean.
 * @param params fitted parameters; q must exceed 1 for the population mean to exist
 * @param customer the customer's frequency and mean repeat-purchase value
 */
export function gammaGammaExpectedSpend(params: GammaGammaParams, customer: SpendHistory): number {
  const { p, q, v } = checkParams(params, PARAM_NAMES, 'Gamma-Gamma');
  if (typeof customer !== 'object' || customer === null)
    throw new RangeError('customer must be an object { frequency, monetaryValue }');
  const x = checkFrequency(customer.frequency, undefined);
  const m = checkNumber(customer.monetaryValue, 'monetaryValue', undefined);
  if (x === 0) {
    if (!(q > 1)) throw new RangeError(`Gamma-Gamma population mean spend is infinite for q = ${q} <= 1`);
    return (p * v) / (q - 1);
  }
  const denominator = p * x + q - 1;
  if (!(denominator > 0))
    throw new RangeError(`Gamma-Gamma expected spend undefined for p*x + q <= 1 (p=${p}, q=${q}, x=${x})`);
  return (p * (v + x * m)) / denominator;
}
