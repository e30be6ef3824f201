/**
 * BG/NBD input preparation: validation of the rows into columns, and their reduction to
 * sufficient statistics (distinct frequencies, T values, recencies, and weighted patterns).
 */

import { countPatterns, uniqueIndex } from './aggregate.js';
import { checkHistory, checkRows, type CustomerHistory } from './validate.js';

/** Rows reduced to sufficient statistics: identical (frequency, recency, T) rows become weights. @internal */
export interface BgNbdData {
  /** Number of customers. */
  n: number;
  xs: Float64Array; // unique frequencies
  xW: Float64Array; // customers per unique frequency
  Ts: Float64Array; // unique T
  tW: Float64Array; // customers per unique T
  tXW: Float64Array; // sum of frequency per unique T
  txs: Float64Array; // unique recencies of repeat buyers
  rx: Int32Array; // repeat-buyer patterns: index into xs,
  rT: Int32Array; //   into Ts,
  rTx: Int32Array; //   into txs,
  rW: Float64Array; //   and customer count
  /** Per-evaluation work buffers, allocated once. */
  scratch: {
    lnK: Float64Array;
    sByX: Float64Array;
    lnAT: Float64Array;
    invAT: Float64Array;
    lnATx: Float64Array;
    invATx: Float64Array;
  };
}

/** Column form of validated rows. @internal */
export interface Columns {
  x: Float64Array;
  tx: Float64Array;
  T: Float64Array;
}

/**
 * Validates rows (RangeError naming the row index) into columns.
 * @internal
 */
export function toColumns(rows: readonly unknown[]): Columns {
  checkRows(rows, 'fitBgNbd');
  const n = rows.length;
  const cols = { x: new Float64Array(n), tx: new Float64Array(n), T: new Float64Array(n) };
  for (let i = 0; i < n; i++) {
    const row = rows[i] as Partial<CustomerHistory> | null | undefined;
    let x = row?.frequency;
    let tx = row?.recency;
    let T = row?.T;
    // Inline fast path for valid rows; anything else goes through the checker, which names the problem.
    const ok =
      typeof x === 'number' &&
      typeof tx === 'number' &&
      typeof T === 'number' &&
      Number.isInteger(x) &&
      x >= 0 &&
      tx >= 0 &&
      T >= tx &&
      T < Infinity &&
      (x > 0 || tx === 0);
    if (!ok) ({ frequency: x, recency: tx, T } = checkHistory(row, i));
    cols.x[i] = x!;
    cols.tx[i] = tx!;
    cols.T[i] = T!;
  }
  return cols;
}

/**
 * Reduces columns to sufficient statistics with per-evaluation buffers.
 * @internal
 */
export function buildData(c: Columns): BgNbdData {
  const n = c.x.length;
  const xu = uniqueIndex(c.x);
  const tu = uniqueIndex(c.T);
  const xW = new Float64Array(xu.values.length);
  const tW = new Float64Array(tu.values.length);
  const tXW = new Float64Array(tu.values.length);
  let repeaters = 0;
  for (let i = 0; i < n; i++) {
    xW[xu.index[i]!]! += 1;
    tW[tu.index[i]!]! += 1;
    tXW[tu.index[i]!]! += c.x[i]!;
    if (c.x[i]! > 0) repeaters++;
  }
  // Non-repeaters enter only through the per-frequency and per-T sums; repeaters also need t_x.
  const rxi = new Int32Array(repeaters);
  const rti = new Int32Array(repeaters);
  const rtx = new Float64Array(repeaters);
  for (let i = 0, k = 0; i < n; i++) {
    if (c.x[i]! === 0) continue;
    rxi[k] = xu.index[i]!;
    rti[k] = tu.index[i]!;
    rtx[k++] = c.tx[i]!;
  }
  const txu = uniqueIndex(rtx);
  const pats = countPatterns([rxi, rti, txu.index], [xu.values.length, tu.values.length, txu.values.length]);
  const nx = xu.values.length;
  const nt = tu.values.length;
  const ntx = txu.values.length;
  return {
    n,
    xs: xu.values,
    xW,
    Ts: tu.values,
    tW,
    tXW,
    txs: txu.values,
    rx: pats.codes[0]!,
    rT: pats.codes[1]!,
    rTx: pats.codes[2]!,
    rW: pats.counts,
    scratch: {
      lnK: new Float64Array(nx),
      sByX: new Float64Array(nx),
      lnAT: new Float64Array(nt),
      invAT: new Float64Array(nt),
      lnATx: new Float64Array(ntx),
      invATx: new Float64Array(ntx),
    },
  };
}

/**
 * Validates rows and aggregates them into sufficient statistics.
 * @internal exported for tests
 */
export function aggregateBgNbd(rows: readonly unknown[]): BgNbdData {
  return buildData(toColumns(rows));
}
