/**
 * A seeded known-truth check of adaptive path experiments, at the level of enrolments and their
 * outcomes but through the product's own decisions: each day's cohort shares come from
 * `decideCohortShares` (Thompson sampling on matured enrolments only, the exploration floor, the
 * warm-up), each enrolment's cohort from `cohortAt` (as `drawCohort`), and the verdict from
 * `cohortPairs` (the report's comparison). The baseline conversion drifts over time while the
 * shares move, the trap in which a pooled comparison is biased. Shared by
 * test/metrics/cohort-allocation-simulation.test.ts and `comeback experiment --paths`.
 */
import { cohortAt, maturityOf, sequencePaths } from '../sequences/paths.js';
import type { Sequence } from '../sequences/schema.js';
import { decideCohortShares, EPOCH_MS, type CohortArm } from './cohort-allocation.js';
import { cohortPairs, type CohortCell } from './cohorts.js';
import { mulberry32, sampleNormal, newcombeInterval, normalQuantile } from './stats/index.js';

/** The world of one simulated experiment. */
export interface CohortScenario {
  /** A sequence with a two-cohort split (its `optimize` metric, `adapt_after`, goal window apply). */
  sequence: Sequence;
  /** Days of enrolment (one allocation epoch each). */
  days: number;
  /** Enrolments per day. */
  perDay: number;
  /** Conversion rate of the first cohort on the first and on the last day (linear drift between). */
  baseline: [number, number];
  /** True conversion difference of the second cohort over the first (the same every day). */
  difference: number;
  /** Median net order value (minor units) and σ of its log (heavy tails at 1.5). */
  medianValue: number;
  sigma: number;
  /** Exploration floor (`guard.minExplorationShare`). */
  minExplorationShare: number;
  /** Monte Carlo draws per allocation (fewer than the product's 10,000 keeps the check cheap). */
  draws: number;
}

/** What one run gave. */
export interface CohortRun {
  /** The report's stratified difference (second − first), its interval and verdict. */
  difference: number | null;
  covered: boolean;
  significant: boolean;
  /** The second cohort won its pairwise comparison. */
  secondWins: boolean;
  /** The naive pooled comparison's interval covered the true difference. */
  pooledCovered: boolean;
  /** Share of all enrolments drawn into the second cohort, and of those drawn with adaptive shares. */
  secondShare: number;
  adaptiveSecondShare: number | null;
  /** Expected conversions lost against always choosing the better cohort, and under the fixed 50/50 split. */
  regret: number;
  fixedRegret: number;
}

/** Runs one seeded experiment through the product's allocation and comparison. */
export function simulateCohortRun(s: CohortScenario, seed: number): CohortRun {
  const rng = mulberry32(seed);
  const ids = sequencePaths(s.sequence).cohorts.map((c) => c.id);
  if (ids.length !== 2) throw new RangeError('the cohort simulation needs a split into two cohorts');
  const lag = Math.ceil(maturityOf(s.sequence) / EPOCH_MS);
  const day = ids.map(() => [] as { n: number; k: number; net: number; cnt: number; sum: number; sumSq: number }[]);
  const cells: CohortCell[] = [];
  let second = 0;
  let adaptive = 0;
  let adaptiveSecond = 0;
  let regret = 0;
  let fixedRegret = 0;
  for (let d = 0; d < s.days; d++) {
    const arms: CohortArm[] = ids.map((id, c) => {
      const done = day[c]!.slice(0, Math.max(0, d - lag));
      const add = (key: 'n' | 'k' | 'net' | 'cnt' | 'sum' | 'sumSq') => done.reduce((a, x) => a + x[key], 0);
      const netLog = { count: add('cnt'), sum: add('sum'), sumSq: add('sumSq') };
      return { cohortId: id, matured: add('n'), conversions: add('k'), netRevenue: add('net'), netLog };
    });
    const allocation = decideCohortShares(s.sequence, arms, d * EPOCH_MS, s.minExplorationShare, s.draws);
    const epoch = allocation.state === 'adaptive' ? d : null;
    const base = s.baseline[0] + ((s.baseline[1] - s.baseline[0]) * d) / Math.max(1, s.days - 1);
    const rates = [base, base + s.difference];
    const best = Math.max(...rates);
    for (let c = 0; c < 2; c++) day[c]!.push({ n: 0, k: 0, net: 0, cnt: 0, sum: 0, sumSq: 0 });
    for (let i = 0; i < s.perDay; i++) {
      const c = ids.indexOf(cohortAt(allocation.cohorts, rng()));
      const cell = day[c]![d]!;
      cell.n++;
      if (c === 1) second++;
      if (epoch !== null) {
        adaptive++;
        if (c === 1) adaptiveSecond++;
      }
      regret += best - rates[c]!;
      fixedRegret += best - (rates[0]! + rates[1]!) / 2;
      if (rng() >= rates[c]!) continue;
      const value = Math.max(1, Math.round(s.medianValue * Math.exp(s.sigma * sampleNormal(rng))));
      cell.k++;
      cell.net += value;
      cell.cnt++;
      cell.sum += Math.log(value);
      cell.sumSq += Math.log(value) ** 2;
    }
    for (let c = 0; c < 2; c++) {
      const x = day[c]![d]!;
      const same = cells.find((y) => y.cohort === ids[c] && y.epoch === epoch);
      if (same) {
        same.enrolled += x.n;
        same.conversions += x.k;
      } else cells.push({ cohort: ids[c]!, epoch, enrolled: x.n, conversions: x.k });
    }
  }
  const pair = cohortPairs(ids, cells).pairs[0]!;
  const total = (c: number, key: 'n' | 'k') => day[c]!.reduce((a, x) => a + x[key], 0);
  const pooled = newcombeInterval(total(1, 'k'), total(1, 'n'), total(0, 'k'), total(0, 'n'), normalQuantile(0.975));
  const truth = s.difference;
  return {
    difference: pair.difference,
    covered: pair.ci !== null && pair.ci[0] <= truth && truth <= pair.ci[1],
    significant: pair.significant,
    secondWins: pair.better === ids[1],
    pooledCovered: pooled[0] <= truth && truth <= pooled[1],
    secondShare: second / (s.days * s.perDay),
    adaptiveSecondShare: adaptive > 0 ? adaptiveSecond / adaptive : null,
    regret,
    fixedRegret,
  };
}

/** Summary of many seeded runs. */
export interface CohortSimulation {
  runs: number;
  coverage: number;
  significant: number;
  secondWins: number;
  pooledCoverage: number;
  meanSecondShare: number;
  /** Mean share to the second cohort among enrolments drawn with adaptive shares (runs that adapted). */
  meanAdaptiveSecondShare: number | null;
  /** Mean regret of the adaptive split as a share of the fixed split's. */
  regretRatio: number;
}

/** Runs `runs` seeded experiments (seeds seed, seed+1, ...) and summarises them. */
export function simulateCohorts(s: CohortScenario, runs: number, seed: number): CohortSimulation {
  const out = Array.from({ length: runs }, (_, i) => simulateCohortRun(s, seed + i));
  const share = (f: (r: CohortRun) => boolean) => out.filter(f).length / runs;
  const mean = (f: (r: CohortRun) => number) => out.reduce((a, r) => a + f(r), 0) / runs;
  const fixed = mean((r) => r.fixedRegret);
  const adapted = out.filter((r) => r.adaptiveSecondShare !== null);
  return {
    runs,
    coverage: share((r) => r.covered),
    significant: share((r) => r.significant),
    secondWins: share((r) => r.secondWins),
    pooledCoverage: share((r) => r.pooledCovered),
    meanSecondShare: mean((r) => r.secondShare),
    meanAdaptiveSecondShare: adapted.length
      ? adapted.reduce((a, r) => a + r.adaptiveSecondShare!, 0) / adapted.length
      : null,
    regretRatio: fixed > 0 ? mean((r) => r.regret) / fixed : 0,
  };
}
