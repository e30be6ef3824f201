import { deriveConsentState } from '../consent/ledger.js';
import type { DayHistory } from './backtest.js';
import { amountOrZero, dayIndex, invalidOrderReason, summarizeHistory, type OrderFacts } from './rhythm.js';
import type { ConsentCells, PageSource, RawPage } from './source.js';
import { SummaryStore, summaryRow } from './store.js';

/** What one pass over the shop data found. */
export interface Collected {
  store: SummaryStore;
  /** Orders used. */
  orders: number;
  /** Orders left out: not a timestamp, negative or non-numeric total. */
  invalidOrders: number;
  /** The first few left-out orders with the reason, for the log and the run result. */
  invalidSamples: string[];
  /** Highest order id when the pass started. */
  ordersMaxId: number;
  /** Purchase days of a seeded sample of customers, for the backtest behind `p_return`. */
  sample: DayHistory[];
}

/** Which customers the backtest sample keeps: a seeded hash of the id below `rate`. */
export function inSample(id: number, rate: number, seed: number): boolean {
  if (rate >= 1) return true;
  let h = Math.imul(id ^ Math.imul(seed, 0x27d4eb2d), 0x9e3779b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return (h >>> 0) / 4294967296 < rate;
}

/** The purchase days of a customer's valid orders, sorted. */
export function purchaseDays(facts: readonly OrderFacts[]): Int32Array {
  const days = [...new Set(facts.map((f) => dayIndex(f.orderedAt)))];
  return Int32Array.from(days.sort((a, b) => a - b));
}

/** Progress callback: customers read so far of the total. */
export type ProgressFn = (done: number, total: number) => void;

/**
 * Streams over every customer in id order, `pageSize` customers at a time (their orders and
 * consent entries in two range queries per page, the next page fetched while this one is
 * summarised), and keeps one summary row per customer that is not erased. Invalid orders are
 * counted and left out, never turned into NaN; orders after the scoring time are not there yet.
 */
export async function collectSummaries(
  source: PageSource,
  now: number,
  pageSize: number,
  onProgress?: ProgressFn,
  sample = { max: 50_000, seed: 1 },
): Promise<Collected> {
  const { customers: total, ordersMaxId } = await source.totals();
  const out: Collected = {
    store: new SummaryStore(total + 16),
    orders: 0,
    invalidOrders: 0,
    invalidSamples: [],
    ordersMaxId,
    sample: [],
  };
  const rate = total > 0 ? sample.max / total : 1;
  let done = 0;
  let next = source.page(0, pageSize, now);
  for (;;) {
    const page = await next;
    if (!page) break;
    next = source.page(page.customers[page.customers.length - 1]![0], pageSize, now);
    summarisePage(page, now, out, rate, sample.seed);
    done += page.customers.length;
    onProgress?.(done, Math.max(total, done));
  }
  return out;
}

const SAME_ROW = { id: 0, action: '', basis: null as string | null, recorded_at: 0, channel: '' };

function isObjected(rows: ConsentCells[]): boolean {
  return deriveConsentState(
    rows.map((c) => ({ ...SAME_ROW, id: c[0], action: c[2], basis: c[3], recorded_at: c[4], channel: c[5] })),
  ).objected;
}

// Order facts are reused from customer to customer (summaries keep no reference to them).
const POOL: OrderFacts[] = [];
const FACTS: OrderFacts[] = [];

function summarisePage(page: RawPage, now: number, out: Collected, rate: number, seed: number): void {
  const consentsBy = new Map<number, ConsentCells[]>();
  for (const c of page.consents) {
    const list = consentsBy.get(c[1]);
    if (list) list.push(c);
    else consentsBy.set(c[1], [c]);
  }
  const orders = page.orders;
  let oi = 0;
  const facts = FACTS;
  for (const [id, latePayments, erasedAt] of page.customers) {
    facts.length = 0;
    while (oi < orders.length && orders[oi]![1] < id) oi++;
    for (; oi < orders.length && orders[oi]![1] === id; oi++) {
      const [orderId, , orderedAt, total, discount, returned, paidLate] = orders[oi]!;
      const reason = invalidOrderReason(orderedAt, total, now);
      if (reason) {
        // Orders dated after the scoring time simply do not exist yet for this run.
        if (reason !== 'ordered after the scoring time') {
          out.invalidOrders++;
          if (out.invalidSamples.length < 5) out.invalidSamples.push(`order ${orderId} of customer ${id}: ${reason}`);
        }
        continue;
      }
      const f =
        POOL[facts.length] ??
        (POOL[facts.length] = { orderedAt: 0, totalMinor: 0, discountMinor: 0, returnedMinor: 0, paidLate: false });
      f.orderedAt = orderedAt as number;
      f.totalMinor = total as number;
      f.discountMinor = amountOrZero(discount);
      f.returnedMinor = amountOrZero(returned);
      f.paidLate = paidLate === 1 || paidLate === true;
      facts.push(f);
    }
    if (erasedAt !== null && erasedAt !== undefined) continue;
    out.orders += facts.length;
    const h = summarizeHistory(facts, now);
    if (facts.length > 0 && inSample(id, rate, seed)) out.sample.push({ id, days: purchaseDays(facts) });
    const consents = consentsBy.get(id);
    out.store.push(
      summaryRow(id, h, {
        latePayments: Math.floor(amountOrZero(latePayments)),
        objected: consents !== undefined && isObjected(consents),
      }),
    );
  }
}
