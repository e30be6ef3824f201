import { DAY } from '../clock.js';
import type { ScoringSettings } from './config.js';

/** One order as scoring sees it: values already checked to be finite and not negative. */
export interface OrderFacts {
  orderedAt: number;
  totalMinor: number;
  discountMinor: number;
  returnedMinor: number;
  paidLate: boolean;
}

/** A customer's purchase history reduced to what scoring needs. */
export interface HistorySummary {
  ordersCount: number;
  firstOrderAt: number;
  lastOrderAt: number;
  /** Order value net of returns. */
  netMinor: number;
  grossMinor: number;
  returnedMinor: number;
  discountedOrders: number;
  paidLateOrders: number;
  /** Distinct UTC days with a purchase. */
  purchaseDays: number;
  /**
   * The customer's own usual interval (the one rhythm definition): mean days between consecutive
   * purchase days, i.e. first to last purchase day ÷ (purchase days − 1); null with one purchase day.
   */
  ownIntervalDays: number | null;
  /** Sum of the logarithms of the intervals between purchase days (their regularity). */
  sumLogInterval: number;
  /** BG/NBD inputs in whole days: repeat purchase days, first to last purchase day, first purchase day to now. */
  frequency: number;
  recency: number;
  T: number;
  /** Mean net value of the repeat purchase days (Gamma-Gamma input); 0 without repeat purchases. */
  monetaryMinor: number;
}

/** UTC day number of a timestamp. */
export function dayIndex(t: number): number {
  return Math.floor(t / DAY);
}

/** Median of a list of numbers (the list is sorted in place); null when empty. */
export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  values.sort((a, b) => a - b);
  const mid = values.length >> 1;
  return values.length % 2 === 1 ? values[mid]! : (values[mid - 1]! + values[mid]!) / 2;
}

/** Why an order row is left out of scoring, or null when it is usable. */
export function invalidOrderReason(orderedAt: unknown, totalMinor: unknown, now: number): string | null {
  if (typeof orderedAt !== 'number' || !Number.isFinite(orderedAt) || orderedAt < 0)
    return `ordered_at ${JSON.stringify(orderedAt)} is not a timestamp`;
  if (typeof totalMinor !== 'number' || !Number.isFinite(totalMinor) || totalMinor < 0)
    return `total_minor ${JSON.stringify(totalMinor)} is not a non-negative amount`;
  if (orderedAt > now) return 'ordered after the scoring time';
  return null;
}

/** A non-negative finite amount, else 0 (discount and return columns are optional signals). */
export function amountOrZero(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0;
}

const SCRATCH_DAYS: number[] = [];
const SCRATCH_VALUES: number[] = [];

/**
 * Summarises one customer's valid orders, sorted by time (sorted here when they are not).
 * Several orders on one day are one purchase occasion for the rhythm and the model, as in the
 * reference implementations that count purchase periods.
 */
export function summarizeHistory(orders: readonly OrderFacts[], now: number): HistorySummary | null {
  if (orders.length === 0) return null;
  for (let i = 1; i < orders.length; i++) {
    if (orders[i]!.orderedAt < orders[i - 1]!.orderedAt) {
      orders = [...orders].sort((a, b) => a.orderedAt - b.orderedAt);
      break;
    }
  }
  let gross = 0;
  let returned = 0;
  let discounted = 0;
  let late = 0;
  // Scratch arrays reused across customers: a scoring run calls this a million times.
  const days = SCRATCH_DAYS;
  const dayValues = SCRATCH_VALUES;
  days.length = 0;
  dayValues.length = 0;
  for (const o of orders) {
    const ret = Math.min(o.returnedMinor, o.totalMinor);
    gross += o.totalMinor;
    returned += ret;
    if (o.discountMinor > 0) discounted++;
    if (o.paidLate) late++;
    const d = dayIndex(o.orderedAt);
    if (days.length === 0 || days[days.length - 1] !== d) {
      days.push(d);
      dayValues.push(0);
    }
    dayValues[dayValues.length - 1]! += o.totalMinor - ret;
  }
  let sumLogInterval = 0;
  for (let i = 1; i < days.length; i++) sumLogInterval += Math.log(days[i]! - days[i - 1]!);
  let repeatValue = 0;
  for (let i = 1; i < dayValues.length; i++) repeatValue += dayValues[i]!;
  const first = orders[0]!.orderedAt;
  const last = orders[orders.length - 1]!.orderedAt;
  const frequency = days.length - 1;
  return {
    ordersCount: orders.length,
    firstOrderAt: first,
    lastOrderAt: last,
    netMinor: gross - returned,
    grossMinor: gross,
    returnedMinor: returned,
    discountedOrders: discounted,
    paidLateOrders: late,
    purchaseDays: days.length,
    ownIntervalDays: frequency > 0 ? (days[days.length - 1]! - days[0]!) / frequency : null,
    sumLogInterval,
    frequency,
    recency: days[days.length - 1]! - days[0]!,
    T: Math.max(0, dayIndex(now) - days[0]!),
    monetaryMinor: frequency > 0 ? repeatValue / frequency : 0,
  };
}

/** A customer's usual interval and where it came from. */
export interface Rhythm {
  intervalDays: number;
  source: 'own' | 'prior';
}

/**
 * The usual interval between purchases. With at least `minOwnIntervals` intervals the customer's
 * own mean interval; with fewer, the own interval shrunk toward the shop prior on the log scale
 * (a weighted geometric mean, own weight = number of intervals, prior weight = `priorWeight`);
 * with a single purchase day, the prior itself.
 */
export function rhythmOf(
  ownInterval: number | null,
  intervals: number,
  prior: number,
  s: Pick<ScoringSettings, 'minOwnIntervals' | 'priorWeight'>,
): Rhythm {
  if (ownInterval !== null && ownInterval > 0 && intervals >= s.minOwnIntervals)
    return { intervalDays: ownInterval, source: 'own' };
  if (ownInterval !== null && ownInterval > 0 && intervals > 0) {
    const w = intervals;
    const k = s.priorWeight;
    return { intervalDays: Math.exp((w * Math.log(ownInterval) + k * Math.log(prior)) / (w + k)), source: 'prior' };
  }
  return { intervalDays: prior, source: 'prior' };
}

/** Median of a typed array (a sorted copy; the input is left alone); null when empty. */
export function medianOf(values: Float64Array): number | null {
  if (values.length === 0) return null;
  const sorted = values.slice().sort();
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The shop-wide prior interval: the median of the own intervals of customers with a
 * trusted rhythm; else the median interval of customers with any repeat purchase; else the default.
 */
export function priorInterval(
  trustedMedians: Float64Array,
  anyRepeatMedians: Float64Array,
  defaultDays: number,
): number {
  const m = medianOf(trustedMedians) ?? medianOf(anyRepeatMedians);
  return m !== null && m > 0 ? m : defaultDays;
}

/** Days since the last order divided by the usual interval; 0 for an order just now. */
export function overdueRatio(daysSinceLastOrder: number, intervalDays: number): number {
  return Math.max(0, daysSinceLastOrder) / intervalDays;
}

/**
 * Early warning: the customer is past their rhythm (ratio ≥ `earlyWarningRatio`) but not yet
 * lost (ratio < `lostRatio` and P(alive), when known, ≥ `lostPAlive`).
 */
export function isEarlyWarning(
  ratio: number,
  pAlive: number | null,
  s: Pick<ScoringSettings, 'earlyWarningRatio' | 'lostRatio' | 'lostPAlive'>,
): boolean {
  return ratio >= s.earlyWarningRatio && ratio < s.lostRatio && (pAlive === null || pAlive >= s.lostPAlive);
}
