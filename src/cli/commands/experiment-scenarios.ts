/** The programme and path scenarios of `comeback experiment`: many seeded runs, figures against the truth. */
import { rmSync } from 'node:fs';
import { adaptiveScenario, runAdaptivePathExperiment } from '../../demo/adaptive-paths.js';
import { simulateCohorts } from '../../metrics/cohort-simulation.js';
import { runPathExperiment } from '../../demo/paths.js';
import { runProgrammeExperiment, type ProgrammeRun } from '../../demo/programme.js';
import { formatTable } from '../../util/table.js';
import { pct } from '../format/report.js';

const within = (ci: [number, number] | null, x: number) => ci !== null && ci[0] <= x && x <= ci[1];

/** Programme vs control group: +2 pp and no effect, each over `runs` runs (30% control, 8% baseline, σ 1.5). */
export async function programmeScenario(o: {
  db: string;
  seed: number;
  runs: number;
  customers: number;
}): Promise<string> {
  const rows: (string | number)[][] = [];
  for (const [label, effect, seed] of [
    ['+2 pp', 0.02, o.seed],
    ['no effect', 0, o.seed + 1],
  ] as const) {
    rmSync(o.db, { force: true });
    const started = Date.now();
    const runs: ProgrammeRun[] = await runProgrammeExperiment({
      database: o.db,
      seed,
      runs: o.runs,
      customers: o.customers,
      controlShare: 0.3,
      baseline: 0.08,
      effect,
      sigma: 1.5,
    });
    const share = (f: (r: ProgrammeRun) => boolean) => runs.filter(f).length / runs.length;
    const withRevenue = runs.filter((r) => r.report.uplift.revenuePerEnrolledDifferenceCi95 !== null);
    rows.push([
      label,
      runs.length,
      pct(share((r) => within(r.report.uplift.absoluteCi95, r.trueUplift))),
      pct(share((r) => r.report.uplift.significant)),
      `${pct(withRevenue.filter((r) => within(r.report.uplift.revenuePerEnrolledDifferenceCi95, r.trueRevenueDifference)).length / Math.max(1, withRevenue.length))} (${runs.length - withRevenue.length} without)`,
      pct(share((r) => r.report.uplift.revenueSignificant)),
      `${((Date.now() - started) / 1000).toFixed(1)} s`,
    ]);
  }
  return (
    [
      `programme vs global control group: ${o.customers} customers per run, 30% control group converting 8%, order values lognormal (σ 1.5); seeds ${o.seed} and ${o.seed + 1}`,
      '',
      formatTable(
        [
          'truth',
          'runs',
          'conversion coverage',
          'conversion "significant"',
          'revenue coverage',
          'revenue "significant"',
          'time',
        ],
        rows,
      ),
      '',
      'coverage: runs whose 95% interval holds the true difference (target ≥ 93%); with no effect, "significant" is the false-alarm rate (target ≤ 6%)',
    ].join('\n') + '\n'
  );
}

/** Path experiment: two mails and three mails at 5%, a gift path at 13%, holdout 10% at 4%. */
export async function pathsScenario(o: {
  db: string;
  seed: number;
  seeds: number;
  customers: number;
}): Promise<string> {
  const seeds = Array.from({ length: o.seeds }, (_, i) => o.seed + i);
  const started = Date.now();
  const runs = await runPathExperiment({
    database: o.db,
    seeds,
    customers: o.customers,
    holdout: 0.1,
    baseline: 0.04,
    truths: { 'two-mails': 0.05, 'three-mails': 0.05, gift: 0.13 },
  });
  const pairs = runs[0]!.paths.pairs.map((p) => `${p.b} − ${p.a}`);
  const rows = pairs.map((label, i) => {
    const sig = runs.filter((r) => r.paths.pairs[i]!.significant).length;
    const gift = runs.filter((r) => r.paths.pairs[i]!.better === 'gift').length;
    const mean = runs.reduce((s, r) => s + (r.paths.pairs[i]!.difference ?? 0), 0) / runs.length;
    return [label, `${(mean * 100).toFixed(1)} pp`, `${sig} of ${runs.length}`, `${gift} of ${runs.length}`];
  });
  const cohorts = runs[0]!.paths.cohorts.map((c) => c.cohortId);
  const vsHoldout = cohorts.map((c) => [
    c,
    `${runs.filter((r) => r.paths.cohorts.find((x) => x.cohortId === c)!.uplift.significant).length} of ${runs.length}`,
  ]);
  return (
    [
      `path experiment: ${runs.length} shops of ${o.customers} customers; two mails and three mails convert 5%, the gift path 13%, the 10% holdout 4%`,
      `pairwise intervals Bonferroni-corrected for ${runs[0]!.paths.comparisons} comparisons (each at ${pct(runs[0]!.paths.pairLevel)}); ${((Date.now() - started) / 1000).toFixed(1)} s`,
      '',
      formatTable(['pair', 'mean difference', 'significant', 'gift wins'], rows),
      '',
      formatTable(['cohort', 'significant vs holdout'], vsHoldout),
      '',
      await adaptiveRun(o.db, o.seed),
    ].join('\n') + '\n'
  );
}

/**
 * The adaptive split: one shop through the engine, 120 entrants a day for 40 days (the shares by
 * week), then 400 seeded runs of the same experiment at the level of enrolments, with the
 * baseline drifting from 10% to 4% while the shares move.
 */
async function adaptiveRun(db: string, seed: number): Promise<string> {
  const started = Date.now();
  const run = await runAdaptivePathExperiment({
    database: db,
    seed,
    days: 40,
    perDay: 120,
    truths: { mail: 0.05, gift: 0.08 },
    goalDays: 14,
    adaptAfter: 200,
  });
  const weeks = Array.from({ length: Math.ceil(run.days.length / 7) }, (_, w) => {
    const days = run.days.slice(w * 7, w * 7 + 7);
    const mean = (f: (d: (typeof days)[number]) => number) => days.reduce((a, d) => a + f(d), 0) / days.length;
    return [
      `days ${w * 7 + 1}–${w * 7 + days.length}`,
      pct(mean((d) => d.storedGiftShare ?? 0)),
      pct(mean((d) => d.giftShare)),
      days.some((d) => d.adaptive) ? 'adaptive' : 'written shares',
    ];
  });
  const pair = run.paths.pairs[0]!;
  const ci = pair.ci ? `[${(pair.ci[0] * 100).toFixed(1)}, ${(pair.ci[1] * 100).toFixed(1)}] pp` : '–';
  const sims = [simulateCohorts(adaptiveScenario(0.03), 400, 1), simulateCohorts(adaptiveScenario(0), 400, 1001)];
  const simRows = sims.map((r, i) => [
    i === 0 ? '+3 pp' : 'none',
    pct(r.coverage),
    pct(r.significant),
    i === 0 ? pct(r.secondWins) : '–',
    `${pct(r.meanSecondShare)} / ${r.meanAdaptiveSecondShare === null ? '–' : pct(r.meanAdaptiveSecondShare)}`,
    i === 0 ? pct(r.regretRatio) : '–',
    pct(r.pooledCoverage),
  ]);
  return [
    `adaptive split (allocation: adaptive): one shop, 120 entrants a day for 40 days, mail converting 5%, gift 8%, 14-day goal window, shares move after 200 matured enrolments per cohort; ${((Date.now() - started) / 1000).toFixed(1)} s with the simulation below`,
    formatTable(['entered', 'gift share (stored)', 'drawn into gift', 'allocation'], weeks),
    `gift − mail: ${((pair.difference ?? 0) * 100).toFixed(1)} pp, interval ${ci}, ${pair.better ? `${pair.better} better` : 'not significant'} (${run.paths.pairMethod}); shares now: ${run.paths.cohorts.map((c) => `${c.cohortId} ${pct(c.share)}`).join(', ')}`,
    '',
    '400 seeded runs of the same design at the level of enrolments, baseline drifting from 10% to 4%, gift + difference:',
    formatTable(
      [
        'true difference',
        'coverage',
        'significant',
        'gift wins',
        'share to gift (all / adaptive)',
        'regret vs 50/50',
        'pooled coverage',
      ],
      simRows,
    ),
  ].join('\n');
}
