/**
 * The adaptive path experiment through the real engine: customers enter day after day on a
 * manual clock, each drawn into a cohort with the shares the engine computes for that day
 * (written shares until every cohort has `adapt_after` matured enrolments, then Thompson shares
 * on the sequence's `optimize` metric), and buy with their cohort's known probability within the
 * goal window. Shows the shares moving to the better cohort once outcomes have matured, and the
 * report's stratified comparison (test/engine/cohort-allocation.test.ts,
 * `comeback experiment --paths`).
 */
import { createHash } from 'node:crypto';
import { createEngine } from '../app.js';
import { DAY, HOUR, ManualClock } from '../clock.js';
import { MemoryTransport } from '../delivery/memory.js';
import { enrollCustomers, type EnrollResult } from '../engine/enroll.js';
import type { CohortScenario } from '../metrics/cohort-simulation.js';
import type { PathExperimentReport } from '../metrics/types.js';
import { parseSequence } from '../sequences/loader.js';
import { seededRandom } from '../util/random.js';
import { customersWithConsent, lognormalMinor } from './experiment-shop.js';

/** Options of `runAdaptivePathExperiment`. */
export interface AdaptivePathOptions {
  /** Database (a SQLite file or postgres:// URL); it gets a fresh shop. */
  database: string;
  seed: number;
  /** Days of enrolment, and customers entering per day. */
  days: number;
  perDay: number;
  /** Purchase probability within the goal window of each cohort (`mail` and `gift`). */
  truths: { mail: number; gift: number };
  /** Goal window in days (the enrolments' maturity). */
  goalDays: number;
  /** Matured enrolments per cohort before the shares move. */
  adaptAfter: number;
  /** σ of the log order value (default 1.5). */
  sigma?: number;
  /** Holdout share (default 0) and its purchase probability within the goal window. */
  holdout?: { share: number; rate: number };
}

/** What the run shows. */
export interface AdaptivePathRun {
  /** Per enrolment day: the share of the day's entrants drawn into `gift`, and the share the engine stored. */
  days: { day: number; giftShare: number; storedGiftShare: number | null; adaptive: boolean }[];
  /** The report at the end, after every enrolment matured. */
  paths: PathExperimentReport;
}

const START = Date.UTC(2026, 2, 2, 9);

/** The sequence: a first mail, then a plain offer mail or a gift coupon (adaptive split). */
export function adaptiveSequence(o: Pick<AdaptivePathOptions, 'seed' | 'goalDays' | 'adaptAfter' | 'holdout'>): string {
  return `id: adaptive-${o.seed}
name: Offer mail or gift, adaptive (seed ${o.seed})
audience: { trigger: lapsed }
consent: [double_opt_in]
goal: { purchase: { within: ${o.goalDays}d } }
optimize: net_revenue
holdout: ${o.holdout?.share ?? 0}
steps:
  - id: hello
    template: winback/miss-you
    subject: "We miss you"
  - id: paths
    split:
      allocation: adaptive
      adapt_after: ${o.adaptAfter}
      cohorts:
        - id: mail
          steps:
            - { id: mail-offer, wait: 3d, template: winback/offer, subject: "10% for you" }
        - id: gift
          steps:
            - id: gift-offer
              wait: 3d
              template: winback/offer
              subject: "A gift for you"
              coupon: { amount: 500, valid: 14d }
`;
}

/** Runs the experiment day by day and returns the daily shares and the final report. */
export async function runAdaptivePathExperiment(o: AdaptivePathOptions): Promise<AdaptivePathRun> {
  const yaml = adaptiveSequence(o);
  const parsed = parseSequence(yaml, `adaptive-${o.seed}.yaml`);
  if (!parsed.sequence) throw new Error(`adaptive sequence: ${parsed.problems.map((p) => p.message).join('; ')}`);
  const hash = createHash('sha256').update(yaml).digest('hex');
  const sequences = [{ definition: parsed.sequence, file: `adaptive-${o.seed}.yaml`, hash }];
  const clock = new ManualClock(START);
  const engine = await createEngine({ database: o.database }, { clock, transport: new MemoryTransport(), sequences });
  const rand = seededRandom(o.seed);
  const id = `adaptive-${o.seed}`;
  const seq = engine.ctx.sequences.get(id);
  const pending: { externalId: string; customerExternalId: string; orderedAt: number; totalMinor: number }[] = [];
  const flush = async () => {
    const due = pending.filter((p) => p.orderedAt <= clock.now());
    if (due.length === 0) return;
    await engine.orders.recordMany(due);
    for (const d of due) pending.splice(pending.indexOf(d), 1);
  };
  const out: AdaptivePathRun['days'] = [];
  try {
    for (let day = 0; day < o.days; day++) {
      clock.set(START + day * DAY);
      await flush();
      const ids = Array.from({ length: o.perDay }, (_, i) => `A${o.seed}-${day}-${i}`);
      const map = await customersWithConsent(engine, ids, clock.now() - HOUR);
      const result: EnrollResult = { sequenceId: id, considered: 0, enrolled: 0, holdout: 0, skipped: {} };
      const enrolled = await enrollCustomers(
        engine.ctx,
        seq,
        ids.map((x) => map.get(x)!),
        result,
      );
      const rows = await engine.ctx.k
        .selectFrom('enrollments as e')
        .innerJoin('customers as c', 'c.id', 'e.customer_id')
        .select(['c.external_id', 'e.cohort', 'e.cohort_share', 'e.cohort_epoch', 'e.holdout'])
        .where('e.id', 'in', enrolled)
        .execute();
      for (const r of rows) {
        const p = r.holdout === 1 ? (o.holdout?.rate ?? 0) : o.truths[r.cohort as 'mail' | 'gift'];
        const buys = rand() < p;
        const at = clock.now() + HOUR + Math.floor(rand() * (o.goalDays - 1) * DAY);
        const totalMinor = lognormalMinor(rand, 4000, o.sigma ?? 1.5);
        if (buys)
          pending.push({
            externalId: `${r.external_id}-o`,
            customerExternalId: r.external_id,
            orderedAt: at,
            totalMinor,
          });
      }
      const mailed = rows.filter((r) => r.holdout === 0);
      const gift = mailed.filter((r) => r.cohort === 'gift');
      const stored = gift[0]?.cohort_share ?? null;
      out.push({
        day,
        giftShare: gift.length / Math.max(1, mailed.length),
        storedGiftShare: stored === null ? null : Number(stored),
        adaptive: rows.some((r) => r.cohort_epoch !== null),
      });
    }
    clock.set(START + (o.days + o.goalDays) * DAY);
    await flush();
    const report = await engine.report();
    return { days: out, paths: report.sequences.find((s) => s.sequenceId === id)!.paths! };
  } finally {
    await engine.close();
  }
}

/**
 * The enrolment-level known-truth scenario of the documented figures: 40 days of 120 entrants,
 * a 14-day goal window, `adapt_after` 200, shares on net revenue (lognormal values, σ 1.5), a
 * 5% exploration floor, the first cohort converting 10% on day one drifting down to 4%, the
 * second `difference` above it (test/metrics/cohort-allocation-simulation.test.ts).
 */
export function adaptiveScenario(difference: number): CohortScenario {
  const parsed = parseSequence(adaptiveSequence({ seed: 0, goalDays: 14, adaptAfter: 200 }), 'adaptive.yaml');
  return {
    sequence: parsed.sequence!,
    days: 40,
    perDay: 120,
    baseline: [0.1, 0.04],
    difference,
    medianValue: 4000,
    sigma: 1.5,
    minExplorationShare: 0.05,
    draws: 100,
  };
}
