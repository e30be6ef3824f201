/**
 * The report of a path experiment: each random cohort against the sequence's holdout (the same
 * intervals as the sequence's uplift), and every pair of cohorts against each other with
 * Bonferroni-corrected intervals, so that "path B beats path A" is claimed at a 5% error rate for
 * the whole family of comparisons, not 5% per comparison. Cohorts are compared as drawn at entry
 * (intention to treat): an enrolment that exits before the split still counts in its cohort, so
 * the comparison is not biased by who reached the split. When an adaptive split moved its shares,
 * the pairs are compared within each allocation epoch and combined (Mantel–Haenszel): pooling
 * would compare a cohort that got its traffic early with one that got it late.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { sequencePaths } from '../sequences/paths.js';
import type { Sequence } from '../sequences/schema.js';
import { allocationEpoch, decideCohortShares, maturedCohortArms } from './cohort-allocation.js';
import type { EnrollmentRow } from './queries.js';
import { conversionMde, mantelHaenszelDifference, newcombeInterval, normalQuantile } from './stats/index.js';
import { upliftReport } from './uplift-report.js';
import type { Interval } from './stats/index.js';
import type { PathExperimentReport } from './types.js';

type CohortRow = EnrollmentRow & { cohort: string | null; cohort_epoch: number | null };

/** Mailed enrolments of one cohort drawn in one allocation epoch (null: a fixed split), and their conversions. */
export interface CohortCell {
  cohort: string;
  epoch: number | null;
  enrolled: number;
  conversions: number;
}

const LN = sql.raw('ln(cast(c.revenue as double precision))');
const NUMERIC = [
  'holdout',
  'enrolled',
  'conversions',
  'revenue',
  'revenue_sq',
  'buyers',
  'revenue_log',
  'revenue_log_sq',
] as const;

/** Enrolments and conversion sums per (cohort, epoch, holdout) of one sequence. */
async function cohortRows(k: Kysely<Database>, sequenceId: string, since?: number): Promise<CohortRow[]> {
  const r = await sql<CohortRow>`
    select en.cohort, en.cohort_epoch, en.holdout, count(*) as enrolled,
      sum(case when c.enrollment_id is null then 0 else 1 end) as conversions,
      sum(coalesce(c.revenue, 0)) as revenue,
      sum(coalesce(c.revenue, 0) * coalesce(c.revenue, 0)) as revenue_sq,
      sum(case when c.revenue > 0 then 1 else 0 end) as buyers,
      sum(case when c.revenue > 0 then ${LN} else 0 end) as revenue_log,
      sum(case when c.revenue > 0 then ${LN} * ${LN} else 0 end) as revenue_log_sq
    from enrollments en
    left join (select enrollment_id, sum(revenue_minor) as revenue from conversions group by enrollment_id) c
      on c.enrollment_id = en.id
    where en.sequence_id = ${sequenceId} and en.enrolled_at >= ${since ?? 0}
    group by en.cohort, en.cohort_epoch, en.holdout`.execute(k);
  return r.rows.map((row) => {
    const out = { ...row, sequence_id: sequenceId, version: 0, churn_reason: 'unknown', active: 0, discount: 0 };
    for (const key of NUMERIC) out[key] = Number(row[key] ?? 0);
    out.cohort_epoch = row.cohort_epoch === null ? null : Number(row.cohort_epoch);
    return out;
  });
}

/**
 * Every pair of cohorts (conversion rate of `b` − that of `a`) with Bonferroni-corrected
 * intervals. Pooled (Newcombe) while all enrolments share one epoch; stratified by epoch
 * (Mantel–Haenszel with Sato's variance) once the shares moved between epochs.
 */
export function cohortPairs(
  cohortIds: readonly string[],
  cells: readonly CohortCell[],
): { pairs: PathExperimentReport['pairs']; method: PathExperimentReport['pairMethod']; comparisons: number } {
  const m = (cohortIds.length * (cohortIds.length - 1)) / 2;
  // Bonferroni: each of the m pairwise intervals at level 1 − 0.05/m.
  const z = normalQuantile(1 - 0.05 / (2 * m));
  const z80 = normalQuantile(0.8);
  const epochs = byEpoch(cells.map((c) => c.epoch));
  const method = epochs.length > 1 ? 'stratified' : 'pooled';
  const sum = (id: string, key: 'enrolled' | 'conversions', epoch?: number | null) =>
    cells.reduce((a, c) => (c.cohort === id && (epoch === undefined || c.epoch === epoch) ? a + c[key] : a), 0);
  const pairs: PathExperimentReport['pairs'] = [];
  for (let i = 0; i < cohortIds.length; i++) {
    for (let j = i + 1; j < cohortIds.length; j++) {
      const a = cohortIds[i]!;
      const b = cohortIds[j]!;
      const [k1, n1] = [sum(b, 'conversions'), sum(b, 'enrolled')];
      const [k2, n2] = [sum(a, 'conversions'), sum(a, 'enrolled')];
      const none = {
        a,
        b,
        difference: null,
        ci: null,
        significant: false,
        better: null,
        minimumDetectableEffect: null,
      };
      if (n1 === 0 || n2 === 0) {
        pairs.push(none);
        continue;
      }
      let difference = k1 / n1 - k2 / n2;
      let ci = method === 'pooled' ? newcombeInterval(k1, n1, k2, n2, z) : null;
      if (method === 'stratified') {
        const strata = epochs.map((e) => ({
          k1: sum(b, 'conversions', e),
          n1: sum(b, 'enrolled', e),
          k2: sum(a, 'conversions', e),
          n2: sum(a, 'enrolled', e),
        }));
        const mh = mantelHaenszelDifference(strata, z);
        if (!mh) {
          pairs.push(none);
          continue;
        }
        difference = mh.difference;
        ci = mh.ci;
      }
      const significant = ci![0] > 0 || ci![1] < 0;
      // The detectable difference at this pair's sizes and the corrected level (80% power).
      const mde = (conversionMde((k1 + k2) / (n1 + n2), n1, n2) * (z + z80)) / (normalQuantile(0.975) + z80);
      const better = significant ? (ci![0] > 0 ? b : a) : null;
      pairs.push({ a, b, difference, ci, significant, better, minimumDetectableEffect: mde });
    }
  }
  return { pairs, method, comparisons: m };
}

/** What the current shares are, by allocation state (for `comeback stats` and the dashboard). */
export const ALLOCATION: Record<PathExperimentReport['allocation'], string> = {
  fixed: 'Fixed split: entrants are drawn with the written shares.',
  warming_up: 'Adaptive split, warming up: the written shares apply until every cohort has enough matured enrolments.',
  adaptive: "Adaptive split: entrants are drawn with the optimiser's shares (matured enrolments, exploration floor).",
};

/** A cohort against the holdout within allocation epochs (the holdout is drawn alike in every epoch). */
function vsHoldout(cohort: string, rows: readonly CohortRow[]): { difference: number; ci95: Interval } | null {
  const epochs = byEpoch(rows.map((r) => r.cohort_epoch));
  const count = (e: number | null, holdout: boolean, key: 'enrolled' | 'conversions') =>
    rows.reduce(
      (a, r) =>
        r.cohort_epoch === e && (holdout ? r.holdout === 1 : r.holdout === 0 && r.cohort === cohort) ? a + r[key] : a,
      0,
    );
  const strata = epochs.map((e) => ({
    k1: count(e, false, 'conversions'),
    n1: count(e, false, 'enrolled'),
    k2: count(e, true, 'conversions'),
    n2: count(e, true, 'enrolled'),
  }));
  const mh = mantelHaenszelDifference(strata, normalQuantile(0.975));
  return mh && { difference: mh.difference, ci95: mh.ci };
}

/** The distinct epochs in order (the written shares' stratum first): the same sums on every database. */
function byEpoch(epochs: readonly (number | null)[]): (number | null)[] {
  return [...new Set(epochs)].sort((a, b) => (a ?? -Infinity) - (b ?? -Infinity));
}

/** Options of `pathExperimentReport`. */
export interface PathReportOptions {
  since?: number;
  currency?: string;
  /** The time the current shares are computed for (engine clock). */
  now: number;
  /** The exploration floor of adaptive shares (config `guard.minExplorationShare`). */
  minExplorationShare: number;
}

/** The path experiment of a sequence whose step splits into cohorts; null without a split. */
export async function pathExperimentReport(
  k: Kysely<Database>,
  seq: Sequence,
  o: PathReportOptions,
): Promise<PathExperimentReport | null> {
  const { cohorts } = sequencePaths(seq);
  if (cohorts.length === 0) return null;
  // The shares now, from the same matured results the report shows (one query, not two).
  const epoch = allocationEpoch(o.now);
  const matured = await maturedCohortArms(k, seq, epoch);
  const allocation = decideCohortShares(seq, matured, epoch, o.minExplorationShare);
  const rows = await cohortRows(k, seq.id, o.since);
  const holdout = rows.filter((r) => r.holdout === 1);
  const mailed = (id: string) => rows.filter((r) => r.holdout === 0 && r.cohort === id);
  const cells: CohortCell[] = rows.flatMap((r) =>
    r.holdout === 0 && r.cohort !== null
      ? [{ cohort: r.cohort, epoch: r.cohort_epoch, enrolled: r.enrolled, conversions: r.conversions }]
      : [],
  );
  const { pairs, method, comparisons } = cohortPairs(
    cohorts.map((c) => c.id),
    cells,
  );
  return {
    correction: 'bonferroni',
    comparisons,
    pairLevel: 1 - 0.05 / comparisons,
    allocation: allocation.state,
    pairMethod: method,
    cohorts: cohorts.map((c) => {
      const now = allocation.cohorts.find((x) => x.id === c.id)!;
      return {
        cohortId: c.id,
        share: now.share,
        probabilityBest: now.probabilityBest,
        matured: matured.find((x) => x.cohortId === c.id)?.matured ?? 0,
        uplift: upliftReport([...mailed(c.id), ...holdout], seq.holdout, o.currency ?? 'EUR'),
        vsHoldoutStratified: method === 'stratified' ? vsHoldout(c.id, rows) : null,
      };
    }),
    pairs,
  };
}
