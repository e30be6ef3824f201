/**
 * The path-experiment known-truth check: sequences whose second step splits into random cohorts
 * (two mails, three mails, or a gift offer), run through the real engine — enrolment with the
 * cohort draw and the holdout, optionally the scheduler and sender following each cohort's path,
 * attribution of the orders, the report's cohort comparisons. Each cohort's customers buy with a
 * known probability, so the share of runs in which the truly better cohort wins its pairwise
 * comparison is the comparison's real power (test/metrics/paths-simulation.test.ts,
 * `comeback experiment --paths`).
 */
import { createHash } from 'node:crypto';
import { createEngine } from '../app.js';
import { DAY, ManualClock } from '../clock.js';
import { MemoryTransport } from '../delivery/memory.js';
import { enrollCustomers, type EnrollResult } from '../engine/enroll.js';
import type { PathExperimentReport } from '../metrics/types.js';
import { parseSequence } from '../sequences/loader.js';
import { seededRandom } from '../util/random.js';
import { customersWithConsent, lognormalMinor } from './experiment-shop.js';

/** Options of `runPathExperiment`. */
export interface PathExperimentOptions {
  /** Database (a SQLite file or postgres:// URL); it gets a fresh shop. */
  database: string;
  /** One independent shop (its own customers and sequence) per seed, side by side. */
  seeds: number[];
  /** Customers per seed. */
  customers: number;
  /** Holdout share of the sequence. */
  holdout: number;
  /** Purchase probability within the goal window of the holdout. */
  baseline: number;
  /** Purchase probability of each cohort (`two-mails`, `three-mails`, `gift`). */
  truths: Record<'two-mails' | 'three-mails' | 'gift', number>;
  /** Also run the scheduler and sender so every cohort gets its own mails (slower). */
  send?: boolean;
  /** σ of the log order value. */
  sigma?: number;
}

/** One seed's cohort report. */
export interface PathRun {
  seed: number;
  paths: PathExperimentReport;
  /** Mails sent per step id (when `send`). */
  sentByStep: Record<string, number>;
}

const START = Date.UTC(2026, 5, 1, 9);

/** The sequence of one seed: a first mail, then three cohorts with their own paths. */
export function pathSequence(seed: number, holdout: number): string {
  return `id: paths-${seed}
name: Two mails, three mails or a gift (seed ${seed})
audience: { trigger: lapsed }
consent: [double_opt_in]
goal: { purchase: { within: 30d } }
holdout: ${holdout}
steps:
  - id: hello-${seed}
    template: winback/miss-you
    subject: "We miss you"
  - id: paths
    split:
      cohorts:
        - id: two-mails
          steps:
            - { id: two-offer-${seed}, wait: 5d, template: winback/offer, subject: "10% for you" }
        - id: three-mails
          steps:
            - { id: three-news-${seed}, wait: 3d, template: winback/new-arrivals, subject: "New in" }
            - { id: three-offer-${seed}, wait: 4d, template: winback/offer, subject: "10% for you" }
        - id: gift
          steps:
            - id: gift-offer-${seed}
              wait: 5d
              template: winback/offer
              subject: "A gift for you"
              coupon: { amount: 500, valid: 14d }
`;
}

/** Runs every seed's shop through the engine and returns each seed's path-experiment report. */
export async function runPathExperiment(o: PathExperimentOptions): Promise<PathRun[]> {
  const sequences = o.seeds.map((seed) => {
    const yaml = pathSequence(seed, o.holdout);
    const parsed = parseSequence(yaml, `paths-${seed}.yaml`);
    if (!parsed.sequence) {
      throw new Error(`path sequence: ${parsed.problems.map((p) => `${p.line}:${p.column} ${p.message}`).join('; ')}`);
    }
    const hash = createHash('sha256').update(yaml).digest('hex');
    return { definition: parsed.sequence, file: `paths-${seed}.yaml`, hash };
  });
  const clock = new ManualClock(START);
  const transport = new MemoryTransport();
  // The memory transport cannot leave a mail in doubt: let many through at once.
  const config = { database: o.database, worker: { maxInDoubt: 64, concurrency: 64 } };
  const engine = await createEngine(config, { clock, transport, sequences });
  const sigma = o.sigma ?? 1.5;
  try {
    const orders = [];
    for (const seed of o.seeds) {
      const rand = seededRandom(seed);
      const ids = Array.from({ length: o.customers }, (_, i) => `Q${seed}-${i}`);
      const map = await customersWithConsent(engine, ids, START - DAY);
      const result: EnrollResult = { sequenceId: `paths-${seed}`, considered: 0, enrolled: 0, holdout: 0, skipped: {} };
      const seq = engine.ctx.sequences.get(`paths-${seed}`);
      await enrollCustomers(
        engine.ctx,
        seq,
        ids.map((id) => map.get(id)!),
        result,
      );
      const rows = await engine.ctx.k
        .selectFrom('enrollments as e')
        .innerJoin('customers as c', 'c.id', 'e.customer_id')
        .select(['c.external_id', 'e.holdout', 'e.cohort'])
        .where('e.sequence_id', '=', `paths-${seed}`)
        .orderBy('e.id')
        .execute();
      for (const r of rows) {
        // The truth depends on the cohort drawn at entry (intention to treat).
        const p = r.holdout === 1 ? o.baseline : o.truths[r.cohort as keyof PathExperimentOptions['truths']];
        const buys = rand() < p;
        const at = START + 12 * DAY + Math.floor(rand() * 17 * DAY);
        const totalMinor = lognormalMinor(rand, 4000, sigma);
        if (!buys) continue;
        orders.push({ externalId: `${r.external_id}-o`, customerExternalId: r.external_id, orderedAt: at, totalMinor });
      }
    }
    if (o.send) {
      // Each cohort's path through the scheduler and sender: day by day until every path has ended.
      for (let day = 0; day < 12; day++) {
        await engine.runDue();
        clock.advance(DAY);
      }
    }
    clock.set(START + 31 * DAY);
    await engine.orders.recordMany(orders);
    await engine.runDue();
    const report = await engine.report();
    const sentByStep: Record<string, number> = {};
    const sent = await engine.ctx.k.selectFrom('messages').select(['step_id']).where('status', '=', 'sent').execute();
    for (const m of sent) sentByStep[m.step_id] = (sentByStep[m.step_id] ?? 0) + 1;
    const pathsOf = (seed: number) => report.sequences.find((s) => s.sequenceId === `paths-${seed}`)!.paths!;
    return o.seeds.map((seed) => ({ seed, paths: pathsOf(seed), sentByStep }));
  } finally {
    await engine.close();
  }
}
