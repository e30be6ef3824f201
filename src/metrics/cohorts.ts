/**
 * The report of a path experiment: each random cohort against the sequence's holdout (the same
 * intervals as the sequence's uplift), and every pair of cohorts against each other with
 * Bonferroni-corrected intervals, so that "path B beats path A" is claimed at a 5% error rate for
 * the whole family of comparisons, not 5% per comparison. Cohorts are compared as drawn at entry
 * (intention to treat): an enrolment that exits before the split still counts in its cohort, so
 * the comparison is not biased by who reached the split.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { sequencePaths } from '../sequences/paths.js';
import type { Sequence } from '../sequences/schema.js';
import type { EnrollmentRow } from './queries.js';
import { conversionMde, newcombeInterval, normalQuantile } from './stats/index.js';
import { upliftReport } from './uplift-report.js';
import type { PathExperimentReport } from './types.js';

type CohortRow = EnrollmentRow & { cohort: string | null };

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

/** Enrolments and conversion sums per (cohort, holdout) of one sequence. */
async function cohortRows(k: Kysely<Database>, sequenceId: string, since?: number): Promise<CohortRow[]> {
  const r = await sql<CohortRow>`
    select en.cohort, en.holdout, count(*) as enrolled,
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
    group by en.cohort, en.holdout`.execute(k);
  return r.rows.map((row) => {
    const out = { ...row, sequence_id: sequenceId, version: 0, churn_reason: 'unknown', active: 0, discount: 0 };
    for (const key of NUMERIC) out[key] = Number(row[key] ?? 0);
    return out;
  });
}

/** The path experiment of a sequence whose step splits into cohorts; null without a split. */
export async function pathExperimentReport(
  k: Kysely<Database>,
  seq: Sequence,
  since?: number,
  currency = 'EUR',
): Promise<PathExperimentReport | null> {
  const { cohorts } = sequencePaths(seq);
  if (cohorts.length === 0) return null;
  const rows = await cohortRows(k, seq.id, since);
  const holdout = rows.filter((r) => r.holdout === 1);
  const mailed = (id: string) => rows.filter((r) => r.holdout === 0 && r.cohort === id);
  const sum = (rs: CohortRow[], key: 'enrolled' | 'conversions') => rs.reduce((a, r) => a + r[key], 0);
  const m = (cohorts.length * (cohorts.length - 1)) / 2;
  // Bonferroni: each of the m pairwise intervals at level 1 − 0.05/m.
  const z = normalQuantile(1 - 0.05 / (2 * m));
  const pairs: PathExperimentReport['pairs'] = [];
  for (let i = 0; i < cohorts.length; i++) {
    for (let j = i + 1; j < cohorts.length; j++) {
      const a = cohorts[i]!.id;
      const b = cohorts[j]!.id;
      const [k1, n1] = [sum(mailed(b), 'conversions'), sum(mailed(b), 'enrolled')];
      const [k2, n2] = [sum(mailed(a), 'conversions'), sum(mailed(a), 'enrolled')];
      if (n1 === 0 || n2 === 0) {
        pairs.push({
          a,
          b,
          difference: null,
          ci: null,
          significant: false,
          better: null,
          minimumDetectableEffect: null,
        });
        continue;
      }
      const ci = newcombeInterval(k1, n1, k2, n2, z);
      const significant = ci[0] > 0 || ci[1] < 0;
      // The detectable difference at this pair's sizes and the corrected level (80% power).
      const z80 = normalQuantile(0.8);
      const mde = (conversionMde((k1 + k2) / (n1 + n2), n1, n2) * (z + z80)) / (normalQuantile(0.975) + z80);
      const better = significant ? (ci[0] > 0 ? b : a) : null;
      pairs.push({ a, b, difference: k1 / n1 - k2 / n2, ci, significant, better, minimumDetectableEffect: mde });
    }
  }
  return {
    correction: 'bonferroni',
    comparisons: m,
    pairLevel: 1 - 0.05 / m,
    cohorts: cohorts.map((c) => ({
      cohortId: c.id,
      share: c.share,
      uplift: upliftReport([...mailed(c.id), ...holdout], seq.holdout, currency),
    })),
    pairs,
  };
}
