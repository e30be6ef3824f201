import { DAY } from '../clock.js';
import { seededRandom } from '../util/random.js';

/**
 * A synthetic shop whose purchase histories follow the models' own story, with known true
 * parameters: BG/NBD (purchase rate λ ~ Gamma(r, α) per day, drop-out after each repeat purchase
 * with p ~ Beta(a, b)) and Gamma-Gamma (order value ~ Gamma(p, ν), ν ~ Gamma(q, v)); plus
 * discounts, returns, late payments, cancellations and objections for the exclusion signals.
 * Deterministic for a seed; generated chunk by chunk so a million customers never sit in memory.
 */
export interface SyntheticHistoryOptions {
  seed: number;
  customers: number;
  /** The end of observation (epoch ms); first orders fall in the `spanDays` before it. */
  now: number;
  spanDays?: number;
  bg?: { r: number; alpha: number; a: number; b: number };
  /** Gamma-Gamma truth in major units (30 = 30.00 mean order value with the defaults). */
  gg?: { p: number; q: number; v: number };
  /** Customers per chunk. */
  chunkSize?: number;
}

/** The default truth: about five orders per customer over a two-year window. */
export const SYNTHETIC_TRUTH = { bg: { r: 0.9, alpha: 37, a: 0.8, b: 3.5 }, gg: { p: 6, q: 4, v: 15 } };

/** One synthetic customer row, column values as stored. */
export interface SyntheticCustomer {
  index: number;
  externalId: string;
  latePayments: number;
  /** 0: no consent, 1: double opt-in, 2: granted then objected. */
  consent: 0 | 1 | 2;
}

/** One synthetic order; `customer` is the customer's index in the generation. */
export interface SyntheticOrder {
  customer: number;
  orderedAt: number;
  totalMinor: number;
  discountMinor: number;
  returnedMinor: number;
  paidLate: number;
  status: 'paid' | 'cancelled';
}

/** A chunk of the synthetic shop. */
export interface SyntheticChunk {
  customers: SyntheticCustomer[];
  orders: SyntheticOrder[];
}

/** Gamma(shape, scale) draw (Marsaglia and Tsang; shape < 1 by the boost u^(1/shape)). */
export function gammaDraw(rand: () => number, shape: number, scale: number): number {
  if (shape < 1) return gammaDraw(rand, shape + 1, scale) * Math.pow(rand() || 1e-300, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      // Standard normal by Box-Muller.
      x = Math.sqrt(-2 * Math.log(rand() || 1e-300)) * Math.cos(2 * Math.PI * rand());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rand();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u || 1e-300) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v * scale;
  }
}

/** Generates the shop chunk by chunk. */
export function* syntheticHistories(o: SyntheticHistoryOptions): Generator<SyntheticChunk> {
  const rand = seededRandom(o.seed);
  const bg = o.bg ?? SYNTHETIC_TRUTH.bg;
  const gg = o.gg ?? SYNTHETIC_TRUTH.gg;
  const span = (o.spanDays ?? 730) * DAY;
  const chunkSize = o.chunkSize ?? 10_000;
  for (let start = 0; start < o.customers; start += chunkSize) {
    const chunk: SyntheticChunk = { customers: [], orders: [] };
    const end = Math.min(o.customers, start + chunkSize);
    for (let i = start; i < end; i++) {
      const lambda = gammaDraw(rand, bg.r, 1 / bg.alpha);
      const x = gammaDraw(rand, bg.a, 1);
      const p = x / (x + gammaDraw(rand, bg.b, 1));
      const nu = gammaDraw(rand, gg.q, 1 / gg.v); // ν ~ Gamma(q, rate v)
      const bargain = rand() < 0.08;
      const returner = rand() < 0.04;
      const consentDraw = rand();
      chunk.customers.push({
        index: i,
        externalId: `S${i}`,
        latePayments: rand() < 0.03 ? 1 + Math.floor(rand() * 3) : 0,
        consent: consentDraw < 0.6 ? 1 : consentDraw < 0.62 ? 2 : 0,
      });
      const first = o.now - rand() * span;
      let t = first;
      for (let k = 0; ; k++) {
        const value = Math.max(1, Math.round(gammaDraw(rand, gg.p, 1 / nu) * 100));
        const discounted = rand() < (bargain ? 0.8 : 0.12);
        chunk.orders.push({
          customer: i,
          orderedAt: Math.floor(t),
          totalMinor: value,
          discountMinor: discounted ? Math.round(value * 0.15) : 0,
          returnedMinor: rand() < (returner ? 0.6 : 0.04) ? value : 0,
          paidLate: rand() < 0.02 ? 1 : 0,
          status: rand() < 0.01 ? 'cancelled' : 'paid',
        });
        // A repeat purchase after an exponential wait, then drop-out with probability p.
        if (k > 0 && rand() < p) break;
        t += (-Math.log(1 - rand()) / lambda) * DAY;
        if (t >= o.now) break;
      }
    }
    yield chunk;
  }
}
