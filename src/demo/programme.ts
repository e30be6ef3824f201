/**
 * The programme-level known-truth check: many small, independent runs through the real engine
 * (enrolment with the global control group's draw, consent, attribution of the orders, the
 * programme report), each run its own customers entering on their own day. Control-group
 * customers buy with the baseline probability, everyone else with baseline + `effect`; order
 * values are lognormal (heavy-tailed). Because the truth is known, the share of runs whose 95%
 * interval covers it is the interval's real coverage (test/metrics/programme-simulation.test.ts,
 * `comeback experiment --programme`).
 */
import { createHash } from 'node:crypto';
import { createEngine } from '../app.js';
import { DAY, HOUR, ManualClock } from '../clock.js';
import { MemoryTransport } from '../delivery/memory.js';
import { enrollCustomers, type EnrollResult } from '../engine/enroll.js';
import { programmeReport } from '../metrics/programme.js';
import type { ProgrammeReport } from '../metrics/types.js';
import { parseSequence } from '../sequences/loader.js';
import { seededRandom } from '../util/random.js';
import { customersWithConsent, lognormalMinor } from './experiment-shop.js';

/** Options of `runProgrammeExperiment`. */
export interface ProgrammeExperimentOptions {
  /** Database (a SQLite file or postgres:// URL); it gets a fresh shop. */
  database: string;
  seed: number;
  /** Independent runs, each with its own customers on its own day. */
  runs: number;
  /** Customers per run. */
  customers: number;
  /** Share of the global control group. */
  controlShare: number;
  /** Purchase probability of a control-group customer within the window. */
  baseline: number;
  /** What the programme adds to it (0.02 = +2 pp; 0 = no effect). */
  effect: number;
  /** σ of the log order value (1.5–2 is what real shops show). */
  sigma?: number;
  /** Median order value, minor units. */
  medianMinor?: number;
}

/** One run's report and its truth. */
export interface ProgrammeRun {
  run: number;
  report: ProgrammeReport;
  /** True conversion uplift (the effect). */
  trueUplift: number;
  /** True revenue per eligible customer, programme − control: effect × mean order value. */
  trueRevenueDifference: number;
}

const START = Date.UTC(2026, 0, 5, 9);
const WINDOW_DAYS = 30;

const SEQUENCE = `id: programme
name: The whole programme (one sequence stands for all)
audience: { trigger: lapsed }
consent: [double_opt_in]
goal: { purchase: { within: ${WINDOW_DAYS}d } }
steps:
  - id: miss-you
    template: winback/miss-you
    subject: "We miss you"
`;

/**
 * Runs every run through one engine: run r's customers enter on day r (so the report's period
 * [day r, day r + 1) is exactly run r), buy according to their group, and once every window has
 * closed the programme report of each run's day is compared with the truth.
 */
export async function runProgrammeExperiment(o: ProgrammeExperimentOptions): Promise<ProgrammeRun[]> {
  const parsed = parseSequence(SEQUENCE, 'programme.yaml');
  if (!parsed.sequence) throw new Error(`programme sequence: ${parsed.problems.map((p) => p.message).join('; ')}`);
  const hash = createHash('sha256').update(SEQUENCE).digest('hex');
  const sequences = [{ definition: parsed.sequence, file: 'programme.yaml', hash }];
  const clock = new ManualClock(START);
  const controlGroup = { share: o.controlShare, rotation: `seed-${o.seed}`, windowDays: WINDOW_DAYS };
  const transport = new MemoryTransport();
  const engine = await createEngine({ database: o.database, controlGroup }, { clock, transport, sequences });
  const rand = seededRandom(o.seed);
  const sigma = o.sigma ?? 1.5;
  const median = o.medianMinor ?? 4000;
  try {
    const seq = engine.ctx.sequences.get('programme');
    const orders = [];
    // Every run's customers and consents in two batches; each run then enters on its own day.
    const idsOf = (run: number) => Array.from({ length: o.customers }, (_, i) => `P${o.seed}-${run}-${i}`);
    const runIds = Array.from({ length: o.runs }, (_, run) => idsOf(run));
    const customers = await customersWithConsent(engine, runIds.flat(), START - DAY);
    for (const [run, ids] of runIds.entries()) {
      clock.set(START + run * DAY);
      const result: EnrollResult = { sequenceId: 'programme', considered: 0, enrolled: 0, holdout: 0, skipped: {} };
      await enrollCustomers(
        engine.ctx,
        seq,
        ids.map((id) => customers.get(id)!),
        result,
      );
      const rows = await engine.ctx.k
        .selectFrom('enrollments as e')
        .innerJoin('customers as c', 'c.id', 'e.customer_id')
        .select(['c.external_id', 'e.control'])
        .where('e.enrolled_at', '=', clock.now())
        .orderBy('e.id')
        .execute();
      for (const r of rows) {
        const p = o.baseline + (r.control === 1 ? 0 : o.effect);
        const buys = rand() < p;
        const at = clock.now() + HOUR + Math.floor(rand() * (WINDOW_DAYS * DAY - 2 * HOUR));
        const totalMinor = lognormalMinor(rand, median, sigma);
        if (!buys) continue;
        orders.push({ externalId: `${r.external_id}-o`, customerExternalId: r.external_id, orderedAt: at, totalMinor });
      }
    }
    // The shop reports the orders afterwards (an import): attribution does not depend on when.
    clock.set(START + (o.runs + WINDOW_DAYS + 1) * DAY);
    await engine.orders.recordMany(orders);
    const meanOrder = median * Math.exp((sigma * sigma) / 2);
    const out: ProgrammeRun[] = [];
    for (let run = 0; run < o.runs; run++) {
      const period = { since: START + run * DAY, until: START + (run + 1) * DAY, now: clock.now() };
      const group = { controlShare: o.controlShare, rotation: controlGroup.rotation, windowDays: WINDOW_DAYS };
      const report = await programmeReport(engine.ctx.k, { ...period, ...group });
      out.push({ run, report, trueUplift: o.effect, trueRevenueDifference: o.effect * meanOrder });
    }
    return out;
  } finally {
    await engine.close();
  }
}
