/**
 * A seeded win-back experiment with a known truth: a synthetic shop whose customers answer each
 * variant of one offer step with a fixed, known conversion probability (and the holdout with its
 * own baseline), run through the real engine — enrolment, holdout draw, variant optimiser,
 * sending, attribution. Because the truth is known, it shows whether the report's uplift
 * interval covers the true effect and whether the bandit moves traffic to the variant with the
 * best net revenue per send (test/demo/experiment.test.ts).
 */
import { createHash } from 'node:crypto';
import { createEngine } from '../app.js';
import { DAY, HOUR, ManualClock } from '../clock.js';
import { MemoryTransport } from '../delivery/memory.js';
import type { Engine } from '../engine/engine.js';
import type { StatsReport } from '../metrics/types.js';
import { parseSequence } from '../sequences/loader.js';
import { seededRandom } from '../util/random.js';
import { saleCustomers } from './experiment-shop.js';

/** The true answer of customers to one variant (`control` is the step's own content). */
export interface VariantTruth {
  /** Probability that a mailed customer who got this variant buys within the goal window. */
  conversion: number;
  /** Personal coupon of the variant, percent off (none when absent): its discount is the cost. */
  couponPercent?: number;
}

/** Options of `runExperiment`. */
export interface ExperimentOptions {
  /** Database (a SQLite file or postgres:// URL); it gets a fresh shop. */
  database: string;
  seed: number;
  /** Customers, enrolled in `waves` equal groups two days apart (the bandit learns between waves). */
  customers: number;
  waves: number;
  /** Share of enrolments held out (never mailed). */
  holdout: number;
  /** Purchase probability of a holdout customer within the window: the baseline. */
  holdoutConversion: number;
  /** Order value of every purchase, minor units. */
  basketMinor: number;
  /** The truth per variant; the keys name the variants (`control` first). */
  truths: Record<string, VariantTruth>;
  /** Keep the engine open and return it (the caller closes it). */
  keepOpen?: boolean;
}

/** What the experiment produced. */
export interface ExperimentResult {
  report: StatsReport;
  /** Mailed enrolments per variant (`control` for the step's own content). */
  sends: Record<string, number>;
  /** The true expected conversion uplift given who got which variant: Σ nᵥ·pᵥ / n − holdout rate. */
  trueUplift: number;
  /** True net revenue per send of each variant: p × basket × (1 − coupon share). */
  trueNetPerSend: Record<string, number>;
  engine?: Engine;
}

/** The experiment's sequence: one step whose variants carry the offers. */
export function experimentSequence(o: Pick<ExperimentOptions, 'holdout' | 'truths'>): string {
  const variants = Object.entries(o.truths)
    .filter(([id]) => id !== 'control')
    .map(
      ([id, t]) =>
        `      - { id: ${id}, subject: "Offer ${id}"${t.couponPercent ? `, coupon: { percent: ${t.couponPercent}, valid: 14d }` : ''} }`,
    )
    .join('\n');
  return `id: experiment
name: Offer experiment with a known truth
audience: { trigger: experiment }
consent: [double_opt_in]
goal: { purchase: { within: 14d } }
holdout: ${o.holdout}
optimize: net_revenue
steps:
  - id: offer
    template: winback/miss-you
    subject: "We miss you"
    variants:
${variants}
`;
}

const START = Date.UTC(2026, 2, 2, 9);

/** Runs the experiment and returns the engine's report with the truth to compare it with. */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResult> {
  const rand = seededRandom(o.seed);
  const yaml = experimentSequence(o);
  const parsed = parseSequence(yaml, 'experiment.yaml');
  if (!parsed.sequence) throw new Error(`experiment sequence: ${parsed.problems.map((p) => p.message).join('; ')}`);
  const clock = new ManualClock(START);
  const engine = await createEngine(
    { database: o.database },
    {
      clock,
      transport: new MemoryTransport(),
      sequences: [
        { definition: parsed.sequence, file: 'experiment.yaml', hash: createHash('sha256').update(yaml).digest('hex') },
      ],
    },
  );
  const ids = Array.from({ length: o.customers }, (_, i) => `X${String(i + 1).padStart(6, '0')}`);
  await saleCustomers(engine, ids);
  for (const id of ids)
    await engine.consents.record({
      customer: id,
      action: 'grant',
      basis: 'double_opt_in',
      source: 'newsletter_form',
      recordedAt: START - 400 * DAY,
      evidence: { experiment: true },
    });

  const sends: Record<string, number> = Object.fromEntries(Object.keys(o.truths).map((v) => [v, 0]));
  let orderNo = 0;
  const buy = (customer: string, at: number, discount: number) =>
    engine.orders.record({
      externalId: `XO${++orderNo}`,
      customerExternalId: customer,
      orderedAt: at,
      totalMinor: o.basketMinor,
      discountMinor: discount,
      couponCode: null,
    });
  const perWave = Math.ceil(o.customers / o.waves);
  for (let w = 0; w < o.waves; w++) {
    const wave = ids.slice(w * perWave, (w + 1) * perWave);
    for (const id of wave) await engine.trigger('experiment', id);
    await engine.runDue(); // refreshes the variant shares from the earlier waves, then sends
    const enrolled = await engine.ctx.k
      .selectFrom('enrollments as e')
      .innerJoin('customers as c', 'c.id', 'e.customer_id')
      .leftJoin('messages as m', 'm.enrollment_id', 'e.id')
      .leftJoin('coupons as k', 'k.message_id', 'm.id')
      .select(['c.external_id', 'e.holdout', 'm.variant_id', 'm.sent_at', 'k.code', 'k.percent'])
      .where('c.external_id', 'in', wave)
      .orderBy('e.id')
      .execute();
    for (const e of enrolled) {
      const at = (e.sent_at ?? clock.now()) + DAY + Math.floor(rand() * 5 * DAY);
      if (e.holdout === 1) {
        if (rand() < o.holdoutConversion) await buy(e.external_id, at, 0);
        continue;
      }
      const variant = e.variant_id ?? 'control';
      sends[variant] = (sends[variant] ?? 0) + 1;
      if (rand() >= o.truths[variant]!.conversion) continue;
      const discount = e.percent ? Math.round((o.basketMinor * e.percent) / 100) : 0;
      await engine.orders.record({
        externalId: `XO${++orderNo}`,
        customerExternalId: e.external_id,
        orderedAt: at,
        totalMinor: o.basketMinor,
        discountMinor: discount,
        couponCode: e.code,
      });
    }
    clock.advance(7 * DAY + HOUR); // the wave's purchases have happened before the next wave
  }
  const report = await engine.report({ sequence: 'experiment' });
  const mailed = Object.values(sends).reduce((a, b) => a + b, 0);
  const expected = Object.entries(sends).reduce((s, [v, n]) => s + n * o.truths[v]!.conversion, 0);
  const trueNetPerSend = Object.fromEntries(
    Object.entries(o.truths).map(([v, t]) => [v, t.conversion * o.basketMinor * (1 - (t.couponPercent ?? 0) / 100)]),
  );
  const result: ExperimentResult = {
    report,
    sends,
    trueUplift: mailed > 0 ? expected / mailed - o.holdoutConversion : 0,
    trueNetPerSend,
  };
  if (o.keepOpen) return { ...result, engine };
  await engine.close();
  return result;
}
