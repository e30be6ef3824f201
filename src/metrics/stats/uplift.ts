/**
 * Uplift of a win-back sequence over its holdout group: how much more the enrollees who got the
 * mail converted (or spent) than the comparable enrollees who were held back and got nothing.
 * Pure functions over counts and sums; the caller does the querying.
 */
import { chiSquareQuantile, normalCdf, normalQuantile, studentTCdf, studentTQuantile } from './distributions.js';

export { normalCdf, normalQuantile } from './distributions.js';

/** A closed interval [low, high]. */
export type Interval = [number, number];

/** Enrollees of one group and how many of them converted. */
export interface ConversionGroup {
  n: number;
  conversions: number;
}

/** Why an uplift could not be computed: an empty group has no rate to compare. */
export interface UpliftUnavailable {
  available: false;
  reason: 'no treated' | 'no holdout' | 'no enrollees' | 'too few enrollees' | 'too few buyers';
}

/** Conversion uplift of treated over holdout. Rates are fractions (0.1 = 10%). */
export interface ConversionUplift {
  available: true;
  treatedRate: number;
  holdoutRate: number;
  /** treatedRate − holdoutRate. */
  absolute: number;
  /** treatedRate / holdoutRate − 1 (0.25 = +25%); null when the holdout rate is 0. */
  relative: number | null;
  /** 95% interval of `absolute` (Newcombe's hybrid score interval). */
  ci95: Interval;
  /** 95% interval of `relative` (log risk ratio); null when the holdout rate is 0. */
  relativeCi95: Interval | null;
  /** True when `ci95` excludes 0. */
  significant: boolean;
  /** Two-sided p-value of the pooled two-proportion z-test. */
  pValue: number;
  /** The z statistic of that test. */
  z: number;
}

const Z95 = normalQuantile(0.975); // 1.959963984540054

/**
 * Wilson score interval for a binomial proportion k/n:
 *
 *   centre = (p̂ + z²/2n) / (1 + z²/n),  half-width = z/(1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²)
 *
 * Unlike the textbook p̂ ± z·√(p̂(1−p̂)/n) it never leaves [0, 1] and stays honest at 0/n and
 * for small n, which win-back groups often are. With n = 0 there is no information: [0, 1].
 * Example: 10/100 at z = 1.96 gives [0.0552, 0.1744].
 */
export function wilsonInterval(k: number, n: number, z: number = Z95): Interval {
  checkCounts(k, n, 'wilsonInterval');
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // The bounds are exactly 0 at k = 0 and 1 at k = n; pin them so rounding dust does not show.
  return [k === 0 ? 0 : Math.max(0, centre - half), k === n ? 1 : Math.min(1, centre + half)];
}

/**
 * Newcombe's hybrid score interval for a difference of proportions p₁ − p₂ (Newcombe 1998,
 * "Interval estimation for the difference between independent proportions", method 10).
 * With Wilson intervals (l₁, u₁) for p₁ and (l₂, u₂) for p₂ and d = p₁ − p₂:
 *
 *   low  = d − √((p₁ − l₁)² + (u₂ − p₂)²)
 *   high = d + √((u₁ − p₁)² + (p₂ − l₂)²)
 *
 * Each side combines the two half-widths pointing that way, so the interval inherits Wilson's
 * good coverage at small counts and rates near 0, where the Wald interval is far too narrow.
 * Newcombe's example: 56/70 − 48/80 = 0.2000, 95% CI 0.0524 to 0.3339.
 */
export function newcombeInterval(k1: number, n1: number, k2: number, n2: number, z: number = Z95): Interval {
  const [l1, u1] = wilsonInterval(k1, n1, z);
  const [l2, u2] = wilsonInterval(k2, n2, z);
  const p1 = n1 === 0 ? 0 : k1 / n1;
  const p2 = n2 === 0 ? 0 : k2 / n2;
  const d = p1 - p2;
  return [d - Math.hypot(p1 - l1, u2 - p2), d + Math.hypot(u1 - p1, p2 - l2)];
}

/**
 * Conversion uplift of the treated group over the holdout, with intervals and a test.
 * An empty group gives `{ available: false, reason }` instead of numbers.
 *
 * - `ci95`: Newcombe interval of the absolute difference (see `newcombeInterval`).
 * - `relativeCi95`: exp(ln(r₁/r₂) ± z·√(1/k₁ − 1/n₁ + 1/k₂ − 1/n₂)) − 1 (Katz log risk ratio).
 *   Null when the holdout has no conversions (the ratio is unbounded). When the treated group has
 *   none, 0.5 is added to each treated cell (k₁ + 0.5 of n₁ + 1) so an upper bound still exists.
 * - `pValue`: pooled two-proportion z-test, z = d / √(p̄(1−p̄)(1/n₁ + 1/n₂)). It and `significant`
 *   (from the Newcombe interval) are different methods and can disagree right at the 5% edge.
 */
export function conversionUplift(input: {
  treated: ConversionGroup;
  holdout: ConversionGroup;
}): ConversionUplift | UpliftUnavailable {
  const { treated, holdout } = input;
  checkCounts(treated.conversions, treated.n, 'treated');
  checkCounts(holdout.conversions, holdout.n, 'holdout');
  // One enrollee in a group is a coin, not a rate: with a holdout of 1 the interval was called
  // significant in 10.8 % of shops with no effect (test/metrics/uplift-small-groups.test.ts).
  const missing = emptyReason(treated.n, holdout.n, 2);
  if (missing) return missing;

  const k1 = treated.conversions;
  const n1 = treated.n;
  const k2 = holdout.conversions;
  const n2 = holdout.n;
  const treatedRate = k1 / n1;
  const holdoutRate = k2 / n2;
  const absolute = treatedRate - holdoutRate;
  const ci95 = newcombeInterval(k1, n1, k2, n2);

  let relative: number | null = null;
  let relativeCi95: Interval | null = null;
  if (k2 > 0) {
    relative = treatedRate / holdoutRate - 1;
    const [a, m] = k1 > 0 ? [k1, n1] : [0.5, n1 + 1];
    const logRatio = Math.log(a / m / holdoutRate);
    const se = Math.sqrt(1 / a - 1 / m + 1 / k2 - 1 / n2);
    relativeCi95 = [Math.exp(logRatio - Z95 * se) - 1, Math.exp(logRatio + Z95 * se) - 1];
  }

  const pooled = (k1 + k2) / (n1 + n2);
  const se0 = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  // Everyone or no one converted in both groups: no evidence of any difference.
  const z = se0 > 0 ? absolute / se0 : 0;
  const pValue = Math.min(1, 2 * normalCdf(-Math.abs(z)));

  return {
    available: true,
    treatedRate,
    holdoutRate,
    absolute,
    relative,
    ci95,
    relativeCi95,
    significant: ci95[0] > 0 || ci95[1] < 0,
    pValue,
    z,
  };
}

/**
 * Revenue of one group: either one value per enrollee (0 for those who bought nothing — leaving
 * them out would measure order value, not revenue per enrollee), or the same as sufficient
 * statistics: n enrollees, the sum of their revenue and the sum of squares. Any unit (e.g. minor
 * units); results come back in the same unit, unrounded.
 */
export type RevenueGroup = readonly number[] | { n: number; sum: number; sumSq: number };

/** Revenue uplift of treated over holdout, per enrollee and in total. */
export interface RevenueUplift {
  available: true;
  /** Mean revenue per treated enrollee. */
  treatedPerEnrollee: number;
  /** Mean revenue per holdout enrollee. */
  holdoutPerEnrollee: number;
  /** treatedPerEnrollee − holdoutPerEnrollee. */
  difference: number;
  /** 95% interval of the difference in mean revenue per enrollee. */
  ci95: Interval;
  /** True when `ci95` excludes 0. */
  significant: boolean;
  /** Revenue the mail added: difference × treated n. */
  incrementalRevenue: number;
  /** `ci95` × treated n. */
  incrementalCi95: Interval;
}

/** Welch's t comparison of revenue per enrollee: kept as the textbook baseline the simulations compare against. */
export interface WelchRevenueUplift extends RevenueUplift {
  /** Welch–Satterthwaite degrees of freedom behind `ci95`. */
  df: number;
  /** Two-sided p-value of Welch's t-test. */
  pValue: number;
}

/**
 * Revenue uplift with Welch's unequal-variance interval (the textbook method; on heavy-tailed
 * order values it is far too narrow, see `revenueUplift`):
 *
 *   d = m₁ − m₂,  se = √(s₁²/n₁ + s₂²/n₂),  df = se⁴ / ((s₁²/n₁)²/(n₁−1) + (s₂²/n₂)²/(n₂−1)),
 *   CI = d ± t(0.975, df) · se
 *
 * Welch because the mail changes the spread of revenue as well as its mean, so the groups'
 * variances differ. Revenue is skewed (mostly zeros, a few large orders); the t interval leans
 * on the central limit theorem and is trustworthy with hundreds of enrollees per group, not ten.
 * Needs at least 2 enrollees per group for a variance; otherwise `{ available: false }`.
 */
export function welchRevenueUplift(input: {
  treated: RevenueGroup;
  holdout: RevenueGroup;
}): WelchRevenueUplift | UpliftUnavailable {
  const t = moments(input.treated, 'treated');
  const h = moments(input.holdout, 'holdout');
  const missing = emptyReason(t.n, h.n, 2);
  if (missing) return missing;

  const difference = t.mean - h.mean;
  const v1 = t.variance / t.n;
  const v2 = h.variance / h.n;
  const se = Math.sqrt(v1 + v2);
  let ci95: Interval;
  let df: number;
  let pValue: number;
  if (se > 0) {
    df = (se * se * se * se) / ((v1 * v1) / (t.n - 1) + (v2 * v2) / (h.n - 1));
    const q = studentTQuantile(0.975, df);
    ci95 = [difference - q * se, difference + q * se];
    pValue = Math.min(1, 2 * studentTCdf(-Math.abs(difference / se), df));
  } else {
    // Every enrollee in each group spent the same: the difference is known exactly.
    df = t.n + h.n - 2;
    ci95 = [difference, difference];
    pValue = difference === 0 ? 1 : 0;
  }
  return {
    available: true,
    treatedPerEnrollee: t.mean,
    holdoutPerEnrollee: h.mean,
    difference,
    ci95,
    df,
    significant: ci95[0] > 0 || ci95[1] < 0,
    pValue,
    incrementalRevenue: difference * t.n,
    incrementalCi95: [ci95[0] * t.n, ci95[1] * t.n],
  };
}

/** n, mean and sample variance (n − 1 denominator) of a revenue group. */
function moments(group: RevenueGroup, label: string): { n: number; mean: number; variance: number } {
  if (Array.isArray(group)) {
    const values = group as readonly number[];
    const n = values.length;
    let sum = 0;
    for (const v of values) {
      if (!Number.isFinite(v)) throw new RangeError(`${label}: revenue values must be finite numbers, got ${v}`);
      sum += v;
    }
    const mean = n > 0 ? sum / n : 0;
    // Two passes: summing squared deviations avoids the cancellation of sumSq − sum²/n.
    let ss = 0;
    for (const v of values) ss += (v - mean) * (v - mean);
    return { n, mean, variance: n > 1 ? ss / (n - 1) : 0 };
  }
  const { n, sum, sumSq } = group as { n: number; sum: number; sumSq: number };
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${label}: n must be a whole number ≥ 0, got ${n}`);
  if (!Number.isFinite(sum) || !Number.isFinite(sumSq) || sumSq < 0)
    throw new RangeError(`${label}: sum and sumSq must be finite, sumSq ≥ 0`);
  if (n === 0) return { n, mean: 0, variance: 0 };
  const ss = sumSq - (sum * sum) / n;
  // A little negative is rounding; a lot negative means the sums do not belong together.
  if (ss < -1e-9 * Math.max(1, sumSq))
    throw new RangeError(`${label}: sumSq ${sumSq} is smaller than sum²/n; the sums are inconsistent`);
  return { n, mean: sum / n, variance: n > 1 ? Math.max(0, ss) / (n - 1) : 0 };
}

function emptyReason(treatedN: number, holdoutN: number, min: number): UpliftUnavailable | undefined {
  if (treatedN === 0 && holdoutN === 0) return { available: false, reason: 'no enrollees' };
  if (treatedN === 0) return { available: false, reason: 'no treated' };
  if (holdoutN === 0) return { available: false, reason: 'no holdout' };
  if (treatedN < min || holdoutN < min) return { available: false, reason: 'too few enrollees' };
  return undefined;
}

function checkCounts(k: number, n: number, label: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${label}: n must be a whole number ≥ 0, got ${n}`);
  if (!Number.isInteger(k) || k < 0 || k > n)
    throw new RangeError(`${label}: conversions must be a whole number from 0 to n (${n}), got ${k}`);
}

/**
 * Revenue of one group for the two-part model: n enrollees, of whom `buyers` spent a positive
 * amount, with the sums of those amounts (`sum`, `sumSq`) and of their natural logs (`logSum`,
 * `logSumSq`). Or simply one value per enrollee (0 for those who bought nothing).
 */
export type RevenueSample =
  readonly number[] | { n: number; sum: number; sumSq: number; buyers: number; logSum: number; logSumSq: number };

/** The two-part summary of a group: n, buyers k, log mean ȳ and log variance s² of the positive amounts. */
interface TwoPart {
  n: number;
  k: number;
  mean: number;
  logMean: number;
  logVar: number;
}

/**
 * Revenue uplift per enrollee with an interval that holds on heavy-tailed order values.
 *
 * Revenue per enrollee is mostly zeros and a few orders whose values are roughly lognormal, often
 * with a long right tail (σ of the log 1.5–2). Its mean is m = p · θ: the share p who buy times the
 * mean order value θ = exp(μ + σ²/2). The interval is built part by part with the MOVER method
 * ("method of variance estimates recovery", Zou & Donner 2008; for lognormal means and the
 * delta-lognormal mean Zou, Taleban & Huo 2009), which combines the intervals of the parts:
 *
 * - p: Wilson interval of buyers / n;
 * - μ: ȳ ± t(k−1) · s/√k; σ²: (k−1)s² / χ²(k−1) quantiles; ln θ = μ + σ²/2 by MOVER for a sum;
 * - ln m = ln p + ln θ by MOVER for a sum, so m's interval is exp of that;
 * - the difference m₁ − m₂ by MOVER for a difference (as Newcombe's interval does for rates).
 *
 * MOVER for a sum a + b with intervals [lₐ, uₐ], [l_b, u_b] is
 *   [â + b̂ − √((â−lₐ)² + (b̂−l_b)²), â + b̂ + √((uₐ−â)² + (u_b−b̂)²)].
 * Unlike Welch's t (which trusts the sample variance of a few huge orders) it lets the interval
 * be as asymmetric as the data are. `difference` stays the plain difference of the group means;
 * the interval is centred on the model's estimate, which in small groups may differ from it.
 * Needs 2 enrollees and 2 buyers (positive amounts) per group; else `{ available: false }`.
 */
export function revenueUplift(input: {
  treated: RevenueSample;
  holdout: RevenueSample;
}): RevenueUplift | UpliftUnavailable {
  const t = twoPart(input.treated, 'treated');
  const h = twoPart(input.holdout, 'holdout');
  const missing = emptyReason(t.n, h.n, 2);
  if (missing) return missing;
  if (t.k < 2 || h.k < 2) return { available: false, reason: 'too few buyers' };
  const [m1, l1, u1] = meanInterval(t);
  const [m2, l2, u2] = meanInterval(h);
  const d = m1 - m2;
  const ci95: Interval = [d - Math.hypot(m1 - l1, u2 - m2), d + Math.hypot(u1 - m1, m2 - l2)];
  const difference = t.mean - h.mean;
  return {
    available: true,
    treatedPerEnrollee: t.mean,
    holdoutPerEnrollee: h.mean,
    difference,
    ci95,
    significant: ci95[0] > 0 || ci95[1] < 0,
    incrementalRevenue: difference * t.n,
    incrementalCi95: [ci95[0] * t.n, ci95[1] * t.n],
  };
}

/** Estimate and 95% interval of a group's mean revenue per enrollee p·θ (see `revenueUplift`). */
function meanInterval(g: TwoPart): [number, number, number] {
  const { n, k, logMean: y, logVar: s2 } = g;
  const [pl, pu] = wilsonInterval(k, n);
  const tq = studentTQuantile(0.975, k - 1);
  const half = tq * Math.sqrt(s2 / k);
  const v2l = ((k - 1) * s2) / chiSquareQuantile(0.975, k - 1);
  const v2u = ((k - 1) * s2) / chiSquareQuantile(0.025, k - 1);
  const lnTheta = y + s2 / 2;
  const thetaL = lnTheta - Math.hypot(half, (s2 - v2l) / 2);
  const thetaU = lnTheta + Math.hypot(half, (v2u - s2) / 2);
  const lnP = Math.log(k / n);
  const lnM = lnP + lnTheta;
  const low = lnM - Math.hypot(lnP - Math.log(pl), lnTheta - thetaL);
  const high = lnM + Math.hypot(Math.log(pu) - lnP, thetaU - lnTheta);
  return [Math.exp(lnM), Math.exp(low), Math.exp(high)];
}

/** Two-part summary of a revenue sample, checked. */
function twoPart(group: RevenueSample, label: string): TwoPart {
  if (Array.isArray(group)) {
    const values = group as readonly number[];
    let sum = 0;
    let k = 0;
    let logSum = 0;
    let logSumSq = 0;
    for (const v of values) {
      if (!Number.isFinite(v) || v < 0)
        throw new RangeError(`${label}: revenue values must be finite numbers ≥ 0, got ${v}`);
      sum += v;
      if (v > 0) {
        const l = Math.log(v);
        k++;
        logSum += l;
        logSumSq += l * l;
      }
    }
    return summarise(values.length, sum, k, logSum, logSumSq);
  }
  const g = group as Exclude<RevenueSample, readonly number[]>;
  if (!Number.isInteger(g.n) || g.n < 0) throw new RangeError(`${label}: n must be a whole number ≥ 0, got ${g.n}`);
  if (!Number.isInteger(g.buyers) || g.buyers < 0 || g.buyers > g.n)
    throw new RangeError(`${label}: buyers must be a whole number from 0 to n (${g.n}), got ${g.buyers}`);
  for (const key of ['sum', 'logSum', 'logSumSq'] as const) {
    if (!Number.isFinite(g[key])) throw new RangeError(`${label}: ${key} must be a finite number, got ${g[key]}`);
  }
  return summarise(g.n, g.sum, g.buyers, g.logSum, g.logSumSq);
}

function summarise(n: number, sum: number, k: number, logSum: number, logSumSq: number): TwoPart {
  const logMean = k > 0 ? logSum / k : 0;
  // A little negative is rounding of the one-pass sums.
  const logVar = k > 1 ? Math.max(0, logSumSq - k * logMean * logMean) / (k - 1) : 0;
  return { n, k, mean: n > 0 ? sum / n : 0, logMean, logVar };
}
