/**
 * The known-truth check with no effect at all: mailed and holdout customers buy with the same
 * probability, at the same times, for the same heavy-tailed amounts. Everything that used to bias
 * the comparison is switched on: the mail carries a personal coupon valid longer than the goal
 * window (mailed buyers redeem it, also outside the window and under the goal's amount ratio),
 * and 15% of the mailed unsubscribe before they buy. An honest report calls the difference
 * "significant" in about 5% of seeds, for conversion and for revenue alike
 * (test/demo/zero-effect.test.ts; `comeback experiment --zero-effect`).
 */
import { createHash } from 'node:crypto';
import type { Engine } from '../engine/engine.js';
import { createEngine } from '../app.js';
import { DAY, HOUR, ManualClock } from '../clock.js';
import { appendConsents } from '../consent/ledger.js';
import { MemoryTransport } from '../delivery/memory.js';
import { enrollAudience } from '../engine/enroll.js';
import type { UpliftReport } from '../metrics/types.js';
import { parseSequence } from '../sequences/loader.js';
import { seededRandom } from '../util/random.js';
import { saleCustomers } from './experiment-shop.js';

/** Options of `runZeroEffect`. */
export interface ZeroEffectOptions {
  /** Database (a SQLite file or postgres:// URL); it gets a fresh shop. */
  database: string;
  /** One independent shop per seed, each with its own customers and sequence, run side by side. */
  seeds: number[];
  /** Customers per seed (default 1,000). */
  customers?: number;
  /** Share held out (default 0.2). */
  holdout?: number;
  /** Probability that any customer, mailed or not, buys within 28 days (default 0.5). */
  purchase?: number;
  /** Share of the mailed who unsubscribe before buying (default 0.15). */
  unsubscribe?: number;
  /** σ of the log order value: 1.5 or 2 is what real shops show (default 1.5). */
  sigma?: number;
}

/** The report's uplift for one seed, where the truth is no effect. */
export interface ZeroEffectResult {
  seed: number;
  uplift: UpliftReport;
  /** Mailed orders that carried the mail's coupon. */
  couponOrders: number;
  /** Mailed customers who unsubscribed. */
  unsubscribed: number;
}

const START = Date.UTC(2026, 2, 2, 9);

/** Days since the last order of the seed at `index`: each seed's customers lapsed on their own day. */
const lapsedDays = (index: number) => 100 + 2 * index;

/** The sequence of one seed: its audience is the seed's customers (by their lapse), its mail has a coupon. */
function sequenceOf(seed: number, index: number, holdout: number): string {
  return `id: zero-effect-${seed}
name: A mail with no effect at all (seed ${seed})
audience: { dormant: { min_days: ${lapsedDays(index)}, max_days: ${lapsedDays(index) + 1} } }
consent: [double_opt_in]
goal: { purchase: { within: 14d, min_amount_ratio: 0.5 } }
exit_on: [purchased, unsubscribed]
holdout: ${holdout}
steps:
  - id: offer
    template: winback/miss-you
    subject: "We miss you"
    coupon: { percent: 20, valid: 60d }
`;
}

/** A standard normal draw (Box–Muller). */
function normal(rand: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}

/** A heavy-tailed amount with the given mean: lognormal with σ. */
const lognormal = (rand: () => number, mean: number, sigma: number) =>
  Math.max(1, Math.round(mean * Math.exp(sigma * normal(rand) - (sigma * sigma) / 2)));

/**
 * Runs the zero-effect shop of every seed through the real engine (enrolment, holdout draw,
 * sending with coupons, unsubscribes, attribution of the orders, the report) and returns each
 * seed's uplift report.
 */
export async function runZeroEffect(o: ZeroEffectOptions): Promise<ZeroEffectResult[]> {
  const sequences = o.seeds.map((seed, index) => {
    const yaml = sequenceOf(seed, index, o.holdout ?? 0.2);
    const parsed = parseSequence(yaml, `zero-effect-${seed}.yaml`);
    if (!parsed.sequence) throw new Error(`zero-effect sequence: ${parsed.problems.map((p) => p.message).join('; ')}`);
    return {
      definition: parsed.sequence,
      file: `zero-effect-${seed}.yaml`,
      hash: createHash('sha256').update(yaml).digest('hex'),
    };
  });
  const clock = new ManualClock(START);
  // The memory transport cannot leave a mail in doubt: let many through at once.
  const engine = await createEngine(
    { database: o.database, worker: { maxInDoubt: 64, concurrency: 64 } },
    { clock, transport: new MemoryTransport(), sequences },
  );
  try {
    const shops = [];
    for (const [index, seed] of o.seeds.entries()) shops.push(await openShop(engine, seed, index, o));
    for (const seed of o.seeds) await enrollAudience(engine.ctx, `zero-effect-${seed}`);
    await engine.runDue();
    const results: ZeroEffectResult[] = [];
    for (const shop of shops) results.push(await behave(engine, shop, o));
    clock.advance(30 * DAY);
    await engine.runDue(); // closes the holdout enrolments at the end of their window
    const report = await engine.report();
    return results.map((r) => ({
      ...r,
      uplift: report.sequences.find((s) => s.sequenceId === `zero-effect-${r.seed}`)!.uplift,
    }));
  } finally {
    await engine.close();
  }
}

/** One seed's customers, with consent and one former order each (the goal's amount reference). */
async function openShop(engine: Engine, seed: number, index: number, o: ZeroEffectOptions) {
  const rand = seededRandom(seed);
  const sigma = o.sigma ?? 1.5;
  const ids = Array.from({ length: o.customers ?? 1000 }, (_, i) => `S${seed}-${String(i + 1).padStart(6, '0')}`);
  const customers = await saleCustomers(engine, ids);
  await appendConsents(
    engine.ctx.k,
    ids.map((id) => ({
      customerId: customers.get(id)!,
      action: 'grant' as const,
      basis: 'double_opt_in' as const,
      source: 'newsletter_form',
      recordedAt: START - 400 * DAY,
      evidence: { experiment: true },
    })),
  );
  const basket = new Map(ids.map((id) => [id, lognormal(rand, 4000, sigma)] as const));
  await engine.orders.recordMany(
    ids.map((id) => ({
      externalId: `${id}-before`,
      customerExternalId: id,
      orderedAt: START - lapsedDays(index) * DAY - HOUR,
      totalMinor: basket.get(id)!,
    })),
  );
  return { seed, rand, basket };
}

/** Mailed and holdout customers buy alike; mailed buyers use their coupon; some mailed leave first. */
async function behave(
  engine: Engine,
  shop: Awaited<ReturnType<typeof openShop>>,
  o: ZeroEffectOptions,
): Promise<ZeroEffectResult> {
  const { rand, basket, seed } = shop;
  const enrolled = await engine.ctx.k
    .selectFrom('enrollments as e')
    .innerJoin('customers as c', 'c.id', 'e.customer_id')
    .leftJoin('messages as m', 'm.enrollment_id', 'e.id')
    .leftJoin('coupons as k', 'k.message_id', 'm.id')
    .select(['c.external_id', 'e.holdout', 'm.id as message_id', 'k.code'])
    .where('e.sequence_id', '=', `zero-effect-${seed}`)
    .orderBy('e.id')
    .execute();
  let unsubscribed = 0;
  let couponOrders = 0;
  const orders = [];
  for (const e of enrolled) {
    // The same draws, in the same order, for mailed and holdout: the mail changes nothing.
    const buys = rand() < (o.purchase ?? 0.5);
    const at = START + DAY + Math.floor(rand() * 27 * DAY);
    const total = lognormal(rand, basket.get(e.external_id)!, o.sigma ?? 1.5);
    const leaves = rand() < (o.unsubscribe ?? 0.15);
    if (e.holdout === 0 && leaves && e.message_id !== null) {
      unsubscribed++;
      await engine.events.record({
        messageId: e.message_id,
        type: 'unsubscribe',
        source: 'experiment',
        at: START + HOUR,
      });
    }
    if (!buys) continue;
    const coupon = e.holdout === 0 ? e.code : null;
    if (coupon) couponOrders++;
    orders.push({
      externalId: `${e.external_id}-after`,
      customerExternalId: e.external_id,
      orderedAt: at,
      totalMinor: total,
      discountMinor: coupon ? Math.round(total * 0.2) : 0,
      couponCode: coupon,
    });
  }
  await engine.orders.recordMany(orders);
  return { seed, uplift: undefined as never, couponOrders, unsubscribed };
}
