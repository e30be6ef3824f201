/**
 * Calibration pooled over the rolling-origin cut-offs: every prediction of every cut-off scored
 * once against its own outcome, in ten groups by predicted probability. One cut-off of a small
 * shop has too few customers per decile to tell a calibration gap of a few points from binomial
 * noise; pooled, each decile holds about as many predictions as there are cut-offs times a tenth
 * of the customers. A customer appears once per cut-off and their outcomes are correlated, so the
 * standard error of each decile's gap is cluster-robust by customer (the sandwich variance of a
 * mean, Liang & Zeger 1986), with the small-sample factor G / (G − 1) for G customers.
 */

/** One decile of the pooled calibration table. */
export interface PooledDecile {
  /** Predictions in the decile, and how many distinct customers made them. */
  n: number;
  customers: number;
  /** Mean predicted probability and observed share that bought again. */
  predicted: number;
  actual: number;
  /** predicted − actual (positive: over-predicted). */
  gap: number;
  /** Cluster-robust standard error of the gap, and its 95 % interval (gap ± 1.96 · se). */
  se: number;
  low: number;
  high: number;
  /** The interval excludes 0: the gap is more than noise. */
  distinguishable: boolean;
  /** |gap| ≤ the goal (3 percentage points). */
  withinGoal: boolean;
  /** The whole interval lies within ± the goal: the data show the decile within the goal. */
  shownWithinGoal: boolean;
}

/** The pooled calibration of one score. */
export interface PooledCalibration {
  predictions: number;
  cutoffs: number;
  goalPp: number;
  deciles: PooledDecile[];
  /** Largest |gap| over the deciles, percentage points. */
  maxGapPp: number;
  /** Deciles whose gap is statistically distinguishable from 0. */
  distinguishable: number;
  /** Every decile's point gap within the goal. */
  withinGoal: boolean;
  /** Every decile's whole interval within the goal. */
  shownWithinGoal: boolean;
  /** Mean predicted − mean actual over all predictions (calibration-in-the-large), and the log-loss. */
  inTheLarge: number;
  logLoss: number;
}

/** The predictions of one cut-off as the backtest reports them. */
export interface CutoffPredictions {
  ids: readonly number[];
  outcome: readonly number[];
  p: readonly number[];
}

const Z95 = 1.959963984540054;

/** Pools the predictions of several cut-offs into one calibration table with intervals per decile. */
export function pooledCalibration(cutoffs: readonly CutoffPredictions[], goalPp = 3): PooledCalibration {
  const ids: number[] = [];
  const y: number[] = [];
  const p: number[] = [];
  for (const c of cutoffs) {
    for (let i = 0; i < c.p.length; i++) {
      ids.push(c.ids[i]!);
      y.push(c.outcome[i]!);
      p.push(c.p[i]!);
    }
  }
  const n = p.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => p[i]! - p[j]!);
  const goal = goalPp / 100;
  const deciles: PooledDecile[] = [];
  for (let d = 0; d < 10; d++) {
    const idx = order.slice(Math.floor((d * n) / 10), Math.floor(((d + 1) * n) / 10));
    const m = Math.max(1, idx.length);
    let sp = 0;
    let sy = 0;
    for (const i of idx) {
      sp += p[i]!;
      sy += y[i]!;
    }
    // Residuals y − p, centred, summed per customer: the cluster-robust variance of their mean.
    const meanR = (sy - sp) / m;
    const byCustomer = new Map<number, number>();
    for (const i of idx) byCustomer.set(ids[i]!, (byCustomer.get(ids[i]!) ?? 0) + (y[i]! - p[i]! - meanR));
    const g = byCustomer.size;
    let ss = 0;
    for (const v of byCustomer.values()) ss += v * v;
    const se = g > 1 ? Math.sqrt((ss * g) / (g - 1)) / m : NaN;
    const gap = (sp - sy) / m;
    const low = gap - Z95 * se;
    const high = gap + Z95 * se;
    deciles.push({
      n: idx.length,
      customers: g,
      predicted: sp / m,
      actual: sy / m,
      gap,
      se,
      low,
      high,
      distinguishable: low > 0 || high < 0,
      withinGoal: Math.abs(gap) <= goal,
      shownWithinGoal: low >= -goal && high <= goal,
    });
  }
  let sp = 0;
  let sy = 0;
  let ll = 0;
  for (let i = 0; i < n; i++) {
    sp += p[i]!;
    sy += y[i]!;
    const q = Math.min(1 - 1e-12, Math.max(1e-12, p[i]!));
    ll -= y[i] ? Math.log(q) : Math.log(1 - q);
  }
  return {
    predictions: n,
    cutoffs: cutoffs.length,
    goalPp,
    deciles,
    maxGapPp: 100 * Math.max(...deciles.map((d) => Math.abs(d.gap))),
    distinguishable: deciles.filter((d) => d.distinguishable).length,
    withinGoal: deciles.every((d) => d.withinGoal),
    shownWithinGoal: deciles.every((d) => d.shownWithinGoal),
    inTheLarge: n > 0 ? (sp - sy) / n : NaN,
    logLoss: n > 0 ? ll / n : NaN,
  };
}
