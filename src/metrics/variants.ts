/**
 * The variant bandit's data and decision: per step, every option (the step's own content and
 * each variant) with its sends, conversions after the send and their net revenue, and the
 * Thompson-sampling shares the scheduler uses. Shares are drawn with a seed derived from the
 * step, so the worker and `comeback stats` compute the same allocation from the same data.
 */
import { sequencePaths } from '../sequences/paths.js';
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import type { Sequence } from '../sequences/schema.js';
import {
  mulberry32,
  posteriorSummary,
  thompsonAllocation,
  type BanditVariant,
  type VariantAllocation,
  type VariantPosterior,
} from './stats/index.js';
import { num } from './queries.js';

/** The metric a sequence optimises its variants on. */
export type OptimizeMetric = 'conversion' | 'net_revenue';

/** The sequence's metric (`optimize:` in the YAML; conversion when absent). */
export function optimizeMetric(seq: Pick<Sequence, 'optimize'>): OptimizeMetric {
  return seq.optimize ?? 'conversion';
}

/** Observed results of one option of one step, over all versions. */
export interface ArmRow {
  sequenceId: string;
  stepId: string;
  variantId: string | null;
  /** Mailed enrolments sent this option. */
  trials: number;
  /** Those that converted after the send. */
  successes: number;
  /** Net revenue (order minus discount, each conversion floored at 0) of those conversions, minor units. */
  netRevenue: number;
  /** Conversions with a net value above 0, and the sums of ln(value) and ln(value)² over them. */
  netLog: { count: number; sum: number; sumSq: number };
}

/** Bandit data of the options of the given steps (sequence id, step id) that were sent. */
export async function armRows(k: Kysely<Database>, steps: readonly (readonly [string, string])[]): Promise<ArmRow[]> {
  if (steps.length === 0) return [];
  const filter = sql.join(
    steps.map(([seq, step]) => sql`(m.sequence_id = ${seq} and m.step_id = ${step})`),
    sql` or `,
  );
  const r = await sql<{
    sequence_id: string;
    step_id: string;
    variant_id: string | null;
    trials: unknown;
    successes: unknown;
    net: unknown;
    valued: unknown;
    log_net: unknown;
    log_net_sq: unknown;
  }>`
    select m.sequence_id, m.step_id, m.variant_id, count(*) as trials, count(c.enrollment_id) as successes, sum(coalesce(c.net, 0)) as net,
      sum(case when c.net > 0 then 1 else 0 end) as valued,
      sum(case when c.net > 0 then ln(cast(c.net as double precision)) else 0 end) as log_net,
      sum(case when c.net > 0 then ln(cast(c.net as double precision)) * ln(cast(c.net as double precision)) else 0 end) as log_net_sq
    from messages m
    join enrollments en on en.id = m.enrollment_id
    left join (
      select enrollment_id, min(converted_at) as first_at,
        sum(case when revenue_minor > discount_minor then revenue_minor - discount_minor else 0 end) as net
      from conversions group by enrollment_id
    ) c on c.enrollment_id = m.enrollment_id and c.first_at >= m.sent_at
    where m.status = 'sent' and en.holdout = 0 and (${filter})
    group by m.sequence_id, m.step_id, m.variant_id`.execute(k);
  return r.rows.map((row) => ({
    sequenceId: row.sequence_id,
    stepId: row.step_id,
    variantId: row.variant_id,
    trials: num(row.trials),
    successes: num(row.successes),
    netRevenue: num(row.net),
    netLog: { count: num(row.valued), sum: num(row.log_net), sumSq: num(row.log_net_sq) },
  }));
}

/** Key of a step option in bandit input (the step's own content is `control`). */
const armId = (variantId: string | null) => (variantId === null ? '\u0000control' : variantId);

/** One option's posterior and share, by variant id (null: the step's own content). */
export interface StepDecision {
  variantId: string | null;
  arm: BanditVariant;
  allocation: VariantAllocation;
  posterior: VariantPosterior;
}

/**
 * Thompson shares and posteriors for the options of one step. Options never sent count as
 * zero trials. The seed depends on the step only, so repeated computations on the same data agree.
 */
export function decideStep(
  sequenceId: string,
  stepId: string,
  variantIds: (string | null)[],
  rows: readonly ArmRow[],
  metric: OptimizeMetric,
  minExplorationShare: number,
): StepDecision[] {
  const arms = stepArms(sequenceId, stepId, variantIds, rows, metric);
  const allocation = stepAllocation(sequenceId, stepId, arms, minExplorationShare);
  const posterior = posteriorSummary(arms, {
    rng: mulberry32(seedOf(`${sequenceId}|${stepId}`) ^ 0x9e3779b9),
    draws: 4000,
  });
  return variantIds.map((variantId, i) => ({
    variantId,
    arm: arms[i]!,
    allocation: allocation[i]!,
    posterior: posterior[i]!,
  }));
}

/** The bandit input of one step's options (never-sent options have zero trials). */
export function stepArms(
  sequenceId: string,
  stepId: string,
  variantIds: (string | null)[],
  rows: readonly ArmRow[],
  metric: OptimizeMetric,
): BanditVariant[] {
  return variantIds.map((v) => {
    const row = rows.find((r) => r.sequenceId === sequenceId && r.stepId === stepId && r.variantId === v);
    const base = { id: armId(v), trials: row?.trials ?? 0, successes: row?.successes ?? 0 };
    if (metric !== 'net_revenue') return base;
    const none = { count: 0, sum: 0, sumSq: 0 };
    return {
      ...base,
      rewardSum: base.successes > 0 ? (row?.netRevenue ?? 0) : 0,
      rewardLog: base.successes > 0 ? (row?.netLog ?? none) : none,
    };
  });
}

/** Thompson shares of a step's arms, each at least `minExplorationShare`: seeded by the step, so the same data always gives the same shares. */
export function stepAllocation(
  sequenceId: string,
  stepId: string,
  arms: readonly BanditVariant[],
  minExplorationShare: number,
): VariantAllocation[] {
  return thompsonAllocation(arms, {
    rng: mulberry32(seedOf(`${sequenceId}|${stepId}`)),
    draws: 10_000,
    minExplorationShare,
  });
}

/** The steps with variants of the given sequences, as (sequence id, step id) pairs. */
export function variantSteps(sequences: readonly Sequence[]): [string, string][] {
  return sequences.flatMap((seq) =>
    sequencePaths(seq)
      .steps.filter((st) => st.variants?.length)
      .map((st) => [seq.id, st.id] as [string, string]),
  );
}

/** The options of a step: the step's own content (null) and its variants; empty without variants. */
export function stepOptions(step: { variants?: { id: string }[] | undefined }): (string | null)[] {
  return step.variants?.length ? [null, ...step.variants.map((v) => v.id)] : [];
}

/** FNV-1a of a string, as a 32-bit seed. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
