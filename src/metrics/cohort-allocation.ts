/**
 * Adaptive path experiments: the shares new enrolments are drawn into cohorts with. Time runs in
 * allocation epochs (UTC days); an epoch's shares are Thompson-sampling shares on the sequence's
 * `optimize` metric over the enrolments that had matured (path and goal window over) when the
 * epoch began, each cohort kept at or above the exploration floor. Only matured enrolments count,
 * or a cohort whose conversions come in sooner would look better early. Until every cohort has
 * `adapt_after` matured enrolments, the written shares stay. The unit is the enrolment drawn into
 * the cohort (intention to treat, holdout excluded). The shares are seeded by sequence, version
 * and epoch, so every worker and `comeback stats` compute the same shares from the same data.
 */
import { sql, type Kysely } from 'kysely';
import { DAY } from '../clock.js';
import type { Database } from '../db/schema.js';
import { maturityOf, sequencePaths, type CohortShare } from '../sequences/paths.js';
import type { Sequence } from '../sequences/schema.js';
import { num } from './queries.js';
import { mulberry32, thompsonAllocation, type BanditVariant } from './stats/index.js';
import { optimizeMetric, seedOf, type OptimizeMetric } from './variants.js';

/** Length of an allocation epoch: shares change at most once per epoch. */
export const EPOCH_MS = DAY;

/** Start of the allocation epoch that holds `now`. */
export function allocationEpoch(now: number): number {
  return Math.floor(now / EPOCH_MS) * EPOCH_MS;
}

/** Matured, mailed enrolments of one cohort and what they brought. */
export interface CohortArm {
  cohortId: string;
  /** Matured enrolments drawn into the cohort (holdout excluded). */
  matured: number;
  /** Those that converted. */
  conversions: number;
  /** Net revenue (order minus discount, each conversion floored at 0), minor units. */
  netRevenue: number;
  /** Converted enrolments with a net value above 0, and the sums of ln(value) and ln(value)². */
  netLog: { count: number; sum: number; sumSq: number };
}

/** The shares of one epoch. */
export interface CohortAllocation {
  /** The epoch's start (epoch ms). */
  epoch: number;
  /** `adaptive` when the optimiser set the shares; `warming_up` or `fixed` when the written ones apply. */
  state: 'fixed' | 'warming_up' | 'adaptive';
  cohorts: (CohortShare & { probabilityBest: number | null; matured: number })[];
}

/**
 * The shares of an epoch from the cohorts' matured results (pure). `draws` Monte Carlo rounds
 * (default 10,000: share error ≤ ±0.01).
 */
export function decideCohortShares(
  seq: Sequence,
  arms: readonly CohortArm[],
  epoch: number,
  minExplorationShare: number,
  draws = 10_000,
): CohortAllocation {
  const p = sequencePaths(seq);
  const armOf = (id: string) => arms.find((a) => a.cohortId === id);
  const written = (state: CohortAllocation['state']): CohortAllocation => ({
    epoch,
    state,
    cohorts: p.cohorts.map((c) => ({
      id: c.id,
      share: c.share,
      probabilityBest: null,
      matured: armOf(c.id)?.matured ?? 0,
    })),
  });
  if (p.allocation === 'fixed') return written('fixed');
  if (p.cohorts.some((c) => (armOf(c.id)?.matured ?? 0) < p.adaptAfter)) return written('warming_up');
  const metric = optimizeMetric(seq);
  const variants = p.cohorts.map((c) => banditArm(c.id, armOf(c.id)!, metric));
  const allocation = thompsonAllocation(variants, {
    rng: mulberry32(seedOf(`cohorts|${seq.id}|${seq.version}|${epoch}`)),
    draws,
    minExplorationShare,
  });
  return {
    epoch,
    state: 'adaptive',
    cohorts: p.cohorts.map((c, i) => ({
      id: c.id,
      share: allocation[i]!.share,
      probabilityBest: allocation[i]!.probabilityBest,
      matured: armOf(c.id)!.matured,
    })),
  };
}

function banditArm(id: string, a: CohortArm, metric: OptimizeMetric): BanditVariant {
  const base = { id, trials: a.matured, successes: a.conversions };
  if (metric !== 'net_revenue') return base;
  const none = { count: 0, sum: 0, sumSq: 0 };
  return { ...base, rewardSum: a.conversions > 0 ? a.netRevenue : 0, rewardLog: a.conversions > 0 ? a.netLog : none };
}

/** The cohorts' matured results at the start of `epoch` (every version of the sequence). */
export async function maturedCohortArms(k: Kysely<Database>, seq: Sequence, epoch: number): Promise<CohortArm[]> {
  const maturedBefore = epoch - maturityOf(seq);
  const ln = sql.raw('ln(cast(c.net as double precision))');
  const r = await sql<Record<string, unknown> & { cohort: string }>`
    select en.cohort, count(*) as matured, count(c.enrollment_id) as conversions, sum(coalesce(c.net, 0)) as net,
      sum(case when c.net > 0 then 1 else 0 end) as valued,
      sum(case when c.net > 0 then ${ln} else 0 end) as log_net,
      sum(case when c.net > 0 then ${ln} * ${ln} else 0 end) as log_net_sq
    from enrollments en
    left join (
      select enrollment_id,
        sum(case when revenue_minor > discount_minor then revenue_minor - discount_minor else 0 end) as net
      from conversions group by enrollment_id
    ) c on c.enrollment_id = en.id
    where en.sequence_id = ${seq.id} and en.holdout = 0 and en.cohort is not null
      and en.enrolled_at <= ${maturedBefore}
    group by en.cohort`.execute(k);
  return r.rows.map((row) => ({
    cohortId: row.cohort,
    matured: num(row.matured),
    conversions: num(row.conversions),
    netRevenue: num(row.net),
    netLog: { count: num(row.valued), sum: num(row.log_net), sumSq: num(row.log_net_sq) },
  }));
}

/**
 * The shares new enrolments of `seq` are drawn with at `now`, read from the database (the one rule:
 * enrolment, the simulator and the report all come here). Null for a sequence without a split.
 */
export async function cohortAllocation(
  k: Kysely<Database>,
  seq: Sequence,
  now: number,
  minExplorationShare: number,
): Promise<CohortAllocation | null> {
  const p = sequencePaths(seq);
  if (p.cohorts.length === 0) return null;
  const epoch = allocationEpoch(now);
  if (p.allocation === 'fixed') return decideCohortShares(seq, [], epoch, minExplorationShare);
  return decideCohortShares(seq, await maturedCohortArms(k, seq, epoch), epoch, minExplorationShare);
}

/**
 * `cohortAllocation` computed once per epoch and sequence version: an engine (and a simulation run)
 * holds one, so enrolments within an epoch do not query the matured results again.
 */
export class CohortShares {
  /** The last computed epoch per sequence version and floor. */
  private readonly last = new Map<string, { epoch: number; value: Promise<CohortAllocation | null> }>();

  constructor(private readonly k: Kysely<Database>) {}

  /** The shares at `now`, as `cohortAllocation` gives them. */
  at(seq: Sequence, now: number, minExplorationShare: number): Promise<CohortAllocation | null> {
    const epoch = allocationEpoch(now);
    const key = `${seq.id}\u0000${seq.version}\u0000${minExplorationShare}`;
    const hit = this.last.get(key);
    if (hit && hit.epoch === epoch) return hit.value;
    const value = cohortAllocation(this.k, seq, now, minExplorationShare);
    this.last.set(key, { epoch, value });
    // A failed query is not remembered: the next enrolment asks again.
    value.catch(() => {
      if (this.last.get(key)?.value === value) this.last.delete(key);
    });
    return value;
  }
}
