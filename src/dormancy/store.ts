/**
 * Per-customer summaries of one scoring run, held column-wise in typed arrays (8 bytes per
 * value, 18 values: about 145 bytes per customer, 145 MB for a million) between reading the
 * history and writing the scores. Nothing else of the history is kept.
 */

import type { HistorySummary } from './rhythm.js';

/** The columns of a summary. */
export const SUMMARY_COLUMNS = [
  'customerId',
  'ordersCount',
  'firstOrderAt',
  'lastOrderAt',
  'netMinor',
  'grossMinor',
  'returnedMinor',
  'discountedOrders',
  'latePayments',
  'purchaseDays',
  /** Own mean interval between purchase days; NaN without an interval (kept in memory only, never written). */
  'ownInterval',
  /** Sum of the log intervals (the regularity model's input; memory only). */
  'sumLogInterval',
  'frequency',
  'recency',
  'T',
  'monetaryMinor',
  'objected',
] as const;

/** One column name. */
export type SummaryColumn = (typeof SUMMARY_COLUMNS)[number];

/** A summary row as plain numbers. */
export type SummaryRow = Record<SummaryColumn, number>;

/**
 * The summary row of one customer from their order history (`null`: no valid order) and the
 * signals kept on the customer: dunning cases recorded there, and whether they objected.
 */
export function summaryRow(
  customerId: number,
  h: HistorySummary | null,
  signals: { latePayments: number; objected: boolean },
): SummaryRow {
  return {
    customerId,
    ordersCount: h?.ordersCount ?? 0,
    firstOrderAt: h?.firstOrderAt ?? NaN,
    lastOrderAt: h?.lastOrderAt ?? NaN,
    netMinor: h?.netMinor ?? 0,
    grossMinor: h?.grossMinor ?? 0,
    returnedMinor: h?.returnedMinor ?? 0,
    discountedOrders: h?.discountedOrders ?? 0,
    latePayments: Math.max(signals.latePayments, h?.paidLateOrders ?? 0),
    purchaseDays: h?.purchaseDays ?? 0,
    ownInterval: h?.ownIntervalDays ?? NaN,
    sumLogInterval: h?.sumLogInterval ?? 0,
    frequency: h?.frequency ?? 0,
    recency: h?.recency ?? 0,
    T: h?.T ?? 0,
    monetaryMinor: h?.monetaryMinor ?? 0,
    objected: signals.objected ? 1 : 0,
  };
}

/** Growable column store of summaries. */
export class SummaryStore {
  length = 0;
  private capacity: number;
  cols: Record<SummaryColumn, Float64Array>;

  constructor(capacity = 1024) {
    this.capacity = Math.max(16, capacity);
    this.cols = Object.fromEntries(SUMMARY_COLUMNS.map((c) => [c, new Float64Array(this.capacity)])) as Record<
      SummaryColumn,
      Float64Array
    >;
  }

  /** Appends one row. */
  push(row: SummaryRow): void {
    if (this.length === this.capacity) this.grow();
    const i = this.length++;
    for (const c of SUMMARY_COLUMNS) this.cols[c][i] = row[c];
  }

  /** Row `i` as an object. */
  row(i: number): SummaryRow {
    const out = {} as SummaryRow;
    for (const c of SUMMARY_COLUMNS) out[c] = this.cols[c][i]!;
    return out;
  }

  /** The values of one column for the rows where `keep` is true, as a new array. */
  select(column: SummaryColumn, keep: (i: number) => boolean): Float64Array {
    const src = this.cols[column];
    const out = new Float64Array(this.length);
    let n = 0;
    for (let i = 0; i < this.length; i++) if (keep(i)) out[n++] = src[i]!;
    return out.slice(0, n);
  }

  private grow(): void {
    this.capacity = Math.ceil(this.capacity * 1.5);
    for (const c of SUMMARY_COLUMNS) {
      const next = new Float64Array(this.capacity);
      next.set(this.cols[c]);
      this.cols[c] = next;
    }
  }
}
