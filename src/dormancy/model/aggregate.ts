/**
 * Grouping helpers for the fitters. A million rows must aggregate in a fraction of a second, so
 * this sorts with an LSD radix sort on the IEEE-754 bits (no comparator calls) instead of using
 * Maps, which box double keys and are an order of magnitude slower on continuous values.
 */

// Which 32-bit half of a double holds the low word on this platform.
const LOW = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 0 : 1;

/** Radix digits as (word, shift): three 11/11/10-bit digits per 32-bit half, low half first. */
const DIGITS: ReadonlyArray<readonly [number, number]> = [
  [0, 0],
  [0, 11],
  [0, 22],
  [1, 0],
  [1, 11],
  [1, 22],
];

/**
 * Permutation that sorts non-negative finite doubles ascending. For x >= 0 the IEEE-754 bit
 * patterns order like unsigned 64-bit integers, so stable counting passes over 11-bit digits
 * suffice; keys move with the permutation so every pass reads sequentially.
 * @param values non-negative finite numbers (+0, not -0)
 */
export function sortOrder(values: Float64Array): Int32Array {
  const n = values.length;
  const bits = new Uint32Array(values.buffer, values.byteOffset, 2 * n);
  let words = [new Uint32Array(n), new Uint32Array(n)];
  let order = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    words[0]![i] = bits[2 * i + LOW]!;
    words[1]![i] = bits[2 * i + 1 - LOW]!;
    order[i] = i;
  }
  let nextWords = [new Uint32Array(n), new Uint32Array(n)];
  let nextOrder = new Int32Array(n);
  const count = new Int32Array(2048);
  for (const [w, shift] of DIGITS) {
    const src = words[w]!;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(src[i]! >>> shift) & 2047]! += 1;
    if (n === 0 || count[(src[0]! >>> shift) & 2047] === n) continue; // one digit value: nothing to reorder
    let sum = 0;
    for (let d = 0; d < 2048; d++) {
      const c = count[d]!;
      count[d] = sum;
      sum += c;
    }
    const [lo, hi] = words as [Uint32Array, Uint32Array];
    const [lo2, hi2] = nextWords as [Uint32Array, Uint32Array];
    for (let i = 0; i < n; i++) {
      const d = (src[i]! >>> shift) & 2047;
      const j = count[d]!;
      count[d] = j + 1;
      lo2[j] = lo[i]!;
      hi2[j] = hi[i]!;
      nextOrder[j] = order[i]!;
    }
    [words, nextWords] = [nextWords, words];
    [order, nextOrder] = [nextOrder, order];
  }
  return order;
}

/** Distinct values in ascending order and, for each input value, the index of its distinct value. */
export interface UniqueIndex {
  values: Float64Array;
  index: Int32Array;
}

/**
 * Sorts and deduplicates non-negative finite values and maps each input to its distinct value.
 * @param values input values, all >= 0 and finite; not modified
 */
export function uniqueIndex(values: Float64Array): UniqueIndex {
  const n = values.length;
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = values[i]! + 0; // -0 + 0 is +0, whose bits sort first
  const order = sortOrder(v);
  const uniques = new Float64Array(n);
  const index = new Int32Array(n);
  let m = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (m === 0 || v[i] !== uniques[m - 1]) uniques[m++] = v[i]!;
    index[i] = m - 1;
  }
  return { values: uniques.slice(0, m), index };
}

/** Distinct combinations of small integer codes and how many rows have each. */
export interface Patterns {
  /** One column per input code array, one entry per distinct combination. */
  codes: Int32Array[];
  /** Rows per combination. */
  counts: Float64Array;
}

/**
 * Counts distinct tuples (codes[0][i], codes[1][i], ...) where codes[k][i] is in [0, sizes[k]).
 * Tuples are packed into one exact double (a mixed-radix number) when the product of sizes is
 * below 2^53, sorted, and run-length counted; otherwise a string-keyed Map is used.
 * @param codes one Int32Array per tuple position, all of the same length
 * @param sizes number of distinct codes per position
 */
export function countPatterns(codes: Int32Array[], sizes: number[]): Patterns {
  const n = codes[0]?.length ?? 0;
  const product = sizes.reduce((p, s) => p * Math.max(1, s), 1);
  if (product < 2 ** 53) {
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let key = 0;
      for (let k = 0; k < codes.length; k++) key = key * sizes[k]! + codes[k]![i]!;
      keys[i] = key;
    }
    const order = sortOrder(keys);
    const firsts = new Int32Array(n);
    const counts = new Float64Array(n);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const i = order[k]!;
      if (m > 0 && keys[i] === keys[firsts[m - 1]!]) counts[m - 1]! += 1;
      else {
        firsts[m] = i;
        counts[m++] = 1;
      }
    }
    return {
      codes: codes.map((c) => Int32Array.from(firsts.subarray(0, m), (i) => c[i]!)),
      counts: counts.slice(0, m),
    };
  }
  const map = new Map<string, number>();
  const firsts: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < n; i++) {
    const key = codes.map((c) => c[i]).join(',');
    const at = map.get(key);
    if (at !== undefined) counts[at]! += 1;
    else {
      map.set(key, counts.length);
      firsts.push(i);
      counts.push(1);
    }
  }
  return { codes: codes.map((c) => Int32Array.from(firsts, (i) => c[i]!)), counts: Float64Array.from(counts) };
}

/**
 * Indices of an evenly spaced systematic sample of about `size` out of `n` rows.
 * @param n population size
 * @param size wanted sample size
 */
export function systematicSample(n: number, size: number): Int32Array {
  const step = n / size;
  const out = new Int32Array(Math.min(n, size));
  for (let i = 0; i < out.length; i++) out[i] = Math.floor(i * step + step / 2);
  return out;
}
