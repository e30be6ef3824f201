/**
 * Turning scores into probabilities and checking them: logistic calibration fitted by Newton's
 * method (Platt scaling with one feature, a stacked logistic combination with several), the AUC
 * by ranks, and a calibration table by deciles.
 */

/** A fitted logistic map: p = 1 / (1 + exp(−(w₀ + Σ wⱼ·zⱼ))) on standardised features z. */
export interface Logistic {
  weights: number[];
  means: number[];
  scales: number[];
  converged: boolean;
}

function solve(A: number[][], y: number[]): number[] {
  const n = y.length;
  const M = A.map((row, i) => [...row, y[i]!]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r]![c]!) > Math.abs(M[p]![c]!)) p = r;
    [M[c], M[p]] = [M[p]!, M[c]!];
    const d = M[c]![c]!;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = M[r]![c]! / d;
      for (let k = c; k <= n; k++) M[r]![k]! -= f * M[c]![k]!;
    }
  }
  return M.map((row, i) => row[n]! / row[i]!);
}

/**
 * Fits a logistic regression of `y` (0/1) on the feature rows by Newton's method with a small
 * ridge penalty (keeps separable or collinear features finite). `weights` (default all 1) weigh
 * the rows, e.g. older time windows less than recent ones; the ridge scales with their sum.
 */
export function fitLogistic(
  features: readonly number[][],
  y: ArrayLike<number>,
  ridge = 1e-3,
  weights?: ArrayLike<number>,
): Logistic {
  const d = features[0]?.length ?? 0;
  const rows = features.length;
  const wt = (i: number): number => (weights ? weights[i]! : 1);
  let n = 0;
  for (let i = 0; i < rows; i++) n += wt(i);
  const means = new Array<number>(d).fill(0);
  const scales = new Array<number>(d).fill(0);
  features.forEach((f, i) => {
    for (let j = 0; j < d; j++) means[j]! += (wt(i) * f[j]!) / n;
  });
  features.forEach((f, i) => {
    for (let j = 0; j < d; j++) scales[j]! += (wt(i) * (f[j]! - means[j]!) ** 2) / n;
  });
  for (let j = 0; j < d; j++) scales[j] = Math.sqrt(scales[j]!) || 1;
  const z = features.map((f) => [1, ...f.map((v, j) => (v - means[j]!) / scales[j]!)]);
  let w = new Array<number>(d + 1).fill(0);
  let mean = 0;
  for (let i = 0; i < rows; i++) mean += (wt(i) * y[i]!) / n;
  w[0] = Math.log(Math.max(1e-6, mean) / Math.max(1e-6, 1 - mean));
  let converged = false;
  for (let it = 0; it < 50; it++) {
    const g = new Array<number>(d + 1).fill(0);
    const H = Array.from({ length: d + 1 }, () => new Array<number>(d + 1).fill(0));
    for (let i = 0; i < rows; i++) {
      const zi = z[i]!;
      let eta = 0;
      for (let j = 0; j <= d; j++) eta += w[j]! * zi[j]!;
      const p = 1 / (1 + Math.exp(-eta));
      const r = wt(i) * (y[i]! - p);
      const v = wt(i) * p * (1 - p);
      for (let j = 0; j <= d; j++) {
        g[j]! += r * zi[j]!;
        for (let k = j; k <= d; k++) H[j]![k]! += v * zi[j]! * zi[k]!;
      }
    }
    for (let j = 0; j <= d; j++) {
      for (let k = 0; k < j; k++) H[j]![k] = H[k]![j]!;
      if (j > 0) {
        g[j]! -= ridge * n * w[j]!;
        H[j]![j]! += ridge * n;
      }
      H[j]![j]! += 1e-9;
    }
    const step = solve(H, g);
    w = w.map((v, j) => v + step[j]!);
    if (step.every((s) => Math.abs(s) < 1e-8)) {
      converged = true;
      break;
    }
  }
  return { weights: w, means, scales, converged };
}

/** The probability a fitted logistic map gives one feature row. */
export function predictLogistic(m: Logistic, f: readonly number[]): number {
  let eta = m.weights[0]!;
  for (let j = 0; j < f.length; j++) eta += (m.weights[j + 1]! * (f[j]! - m.means[j]!)) / m.scales[j]!;
  return 1 / (1 + Math.exp(-eta));
}

/**
 * Area under the ROC curve: the probability that a random positive scores above a random
 * negative, ties counting one half (Mann-Whitney U from mid-ranks). NaN without both classes.
 */
export function auc(scores: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = scores.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => scores[i]! - scores[j]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const mid = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (y[idx[k]!]) {
        pos++;
        rankSum += mid;
      }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** One decile of a calibration table. */
export interface Decile {
  n: number;
  /** Mean predicted probability of buying again within the horizon. */
  predicted: number;
  /** Share that did buy again. */
  actual: number;
  /** Mean purchase days within the horizon, expected (BG/NBD) and actual. */
  expectedPurchases: number;
  actualPurchases: number;
}

/** Ten groups of (nearly) equal size by predicted probability, lowest first. */
export function calibrationDeciles(
  p: ArrayLike<number>,
  y: ArrayLike<number>,
  purchases: ArrayLike<number>,
  expected: ArrayLike<number>,
): Decile[] {
  const n = p.length;
  const idx = Array.from({ length: n }, (_, i) => i).sort((i, j) => p[i]! - p[j]!);
  const out: Decile[] = [];
  for (let d = 0; d < 10; d++) {
    const lo = Math.floor((d * n) / 10);
    const hi = Math.floor(((d + 1) * n) / 10);
    let sp = 0,
      sy = 0,
      se = 0,
      sa = 0;
    for (let k = lo; k < hi; k++) {
      const i = idx[k]!;
      sp += p[i]!;
      sy += y[i]!;
      se += expected[i]!;
      sa += purchases[i]!;
    }
    const m = Math.max(1, hi - lo);
    out.push({ n: hi - lo, predicted: sp / m, actual: sy / m, expectedPurchases: se / m, actualPurchases: sa / m });
  }
  return out;
}
