/**
 * RFM quintile scores. Cut points are the 20/40/60/80 % nearest-rank quantiles over every
 * customer with orders; a score is 1 + the number of cut points the value exceeds (recency
 * reversed: the most recent fifth scores 5). Ties stay together, so a value shared by many
 * customers (one order, say) gets one score and some scores may be empty.
 */

/** The four cut points of each RFM dimension. */
export interface RfmCuts {
  /** Days since the last order. */
  recency: number[];
  /** Orders. */
  frequency: number[];
  /** Net spend, minor units. */
  monetary: number[];
}

/** The 20/40/60/80 % nearest-rank quantiles of the first `n` values (the input is not modified). */
export function quintileCuts(values: Float64Array, n = values.length): number[] {
  if (n === 0) return [];
  const sorted = values.subarray(0, n).slice().sort();
  return [1, 2, 3, 4].map((k) => sorted[Math.max(0, Math.ceil((k * n) / 5) - 1)]!);
}

/** 1..5: higher values score higher (frequency, monetary). */
export function scoreHigh(value: number, cuts: number[]): number {
  let s = 1;
  for (const c of cuts) if (value > c) s++;
  return s;
}

/** 1..5: lower values score higher (recency in days: the most recent buyers score 5). */
export function scoreLow(value: number, cuts: number[]): number {
  let s = 5;
  for (const c of cuts) if (value > c) s--;
  return s;
}
