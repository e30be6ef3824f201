/**
 * Input checks shared by the model functions. Bad input throws a RangeError naming the field
 * and, for fitting, the row index, so a bad row in a million is found without a debugger and no
 * function ever returns NaN.
 */

/** A customer's purchase history summary, in the time unit of the data. */
export interface CustomerHistory {
  /** Repeat purchases: total purchases minus one (a non-negative integer). */
  frequency: number;
  /** Time from the first to the last purchase (0 when frequency is 0). */
  recency: number;
  /** Time from the first purchase to the end of observation (the customer's age). */
  T: number;
}

function where(index: number | undefined): string {
  return index === undefined ? '' : `row ${index}: `;
}

function describe(v: unknown): string {
  return typeof v === 'number' ? String(v) : `${typeof v} ${JSON.stringify(v) ?? String(v)}`;
}

/**
 * Checks a finite number at least `min` (or greater than `min` when `strict`).
 * @param value value to check
 * @param name field name for the message
 * @param index row index for the message, if the value comes from a row
 * @param min lower bound
 * @param strict whether the bound is exclusive
 */
export function checkNumber(value: unknown, name: string, index: number | undefined, min = 0, strict = false): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new RangeError(`${where(index)}${name} must be a finite number, got ${describe(value)}`);
  }
  if (strict ? value <= min : value < min) {
    throw new RangeError(`${where(index)}${name} must be ${strict ? '>' : '>='} ${min}, got ${value}`);
  }
  return value;
}

/**
 * Checks frequency (a non-negative integer count).
 * @param value value to check
 * @param index row index for the message
 */
export function checkFrequency(value: unknown, index: number | undefined): number {
  const x = checkNumber(value, 'frequency', index);
  if (!Number.isInteger(x))
    throw new RangeError(`${where(index)}frequency must be a whole number of repeat purchases, got ${x}`);
  return x;
}

/**
 * Checks one (frequency, recency, T) summary: 0 <= recency <= T, and recency 0 when frequency is 0.
 * @param row value to check
 * @param index row index for the message
 */
export function checkHistory(row: unknown, index: number | undefined): CustomerHistory {
  if (typeof row !== 'object' || row === null)
    throw new RangeError(`${where(index)}expected an object { frequency, recency, T }, got ${describe(row)}`);
  const r = row as Record<string, unknown>;
  const frequency = checkFrequency(r.frequency, index);
  const recency = checkNumber(r.recency, 'recency', index);
  const T = checkNumber(r.T, 'T', index);
  if (recency > T) throw new RangeError(`${where(index)}recency (${recency}) must not exceed T (${T})`);
  if (frequency === 0 && recency !== 0) {
    throw new RangeError(`${where(index)}recency must be 0 when frequency is 0 (no repeat purchase), got ${recency}`);
  }
  return { frequency, recency, T };
}

/**
 * Checks that a fitter input is a non-empty array.
 * @param rows value to check
 * @param what model name for the message
 */
export function checkRows(rows: unknown, what: string): unknown[] {
  if (!Array.isArray(rows)) throw new RangeError(`${what}: rows must be an array, got ${describe(rows)}`);
  if (rows.length === 0) throw new RangeError(`${what}: no rows to fit`);
  return rows;
}

/**
 * Checks that every named parameter is a finite positive number.
 * @param params parameter object
 * @param names names to check
 * @param what model name for the message
 */
export function checkParams<K extends string>(params: unknown, names: readonly K[], what: string): Record<K, number> {
  if (typeof params !== 'object' || params === null) throw new RangeError(`${what} parameters must be an object`);
  const p = params as Record<string, unknown>;
  for (const k of names) checkNumber(p[k], `${what} parameter ${k}`, undefined, 0, true);
  return p as Record<K, number>;
}
