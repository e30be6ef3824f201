/**
 * The whole programme against the global control group: does win-back mail, all sequences
 * together, bring customers back who would not have come anyway? Every customer who entered any
 * sequence in the period is eligible; the control group's members entered too (as holdout
 * enrolments, never mailed), so both sides passed the same audience rules and the same consent
 * checks. The outcome is each customer's orders in the window after their first entry — every
 * order, not only those a sequence's goal counts — so the comparison needs no attribution rule.
 * The intervals and detectable effects are those of the per-sequence uplift (`uplift-report.ts`).
 */
import { sql, type Kysely } from 'kysely';
import { DAY } from '../clock.js';
import type { Database } from '../db/schema.js';
import type { EnrollmentRow } from './queries.js';
import { upliftReport } from './uplift-report.js';
import type { ProgrammeReport } from './types.js';

/** Options of `programmeReport`. */
export interface ProgrammeOptions {
  /** Count customers whose first entry in the period is at or after this (epoch ms). */
  since?: number;
  /** ... and before this (default: now). */
  until?: number;
  /** The engine clock: windows that end after it are pending. */
  now: number;
  controlShare: number;
  rotation: string;
  windowDays: number;
  currency?: string;
}

interface Sums {
  control: number;
  n: number;
  conversions: number;
  revenue: number;
  revenue_sq: number;
  buyers: number;
  revenue_log: number;
  revenue_log_sq: number;
  net: number;
  net_sq: number;
  net_buyers: number;
  net_log: number;
  net_log_sq: number;
}

const LOG = (v: string) => sql.raw(`case when ${v} > 0 then ln(cast(${v} as double precision)) else 0 end`);

/** One grouped query: per side (control or not), counts and the sums the two-part revenue interval needs. */
async function programmeSums(k: Kysely<Database>, o: ProgrammeOptions): Promise<{ rows: Sums[]; pending: number }> {
  const window = o.windowDays * DAY;
  const until = o.until ?? o.now;
  const since = o.since ?? 0;
  const entries = sql`
    select x.customer_id, x.entered_at,
      (select max(e2.control) from enrollments e2
       where e2.customer_id = x.customer_id and e2.enrolled_at = x.entered_at) as control
    from (select customer_id, min(enrolled_at) as entered_at from enrollments
          where enrolled_at >= ${since} and enrolled_at < ${until} group by customer_id) x`;
  const r = await sql<Sums & { done: number }>`
    select y.control, y.done,
      count(*) as n,
      sum(case when y.orders > 0 then 1 else 0 end) as conversions,
      sum(y.revenue) as revenue, sum(y.revenue * y.revenue) as revenue_sq,
      sum(case when y.revenue > 0 then 1 else 0 end) as buyers,
      sum(${LOG('y.revenue')}) as revenue_log, sum(${LOG('y.revenue')} * ${LOG('y.revenue')}) as revenue_log_sq,
      sum(y.net) as net, sum(y.net * y.net) as net_sq,
      sum(case when y.net > 0 then 1 else 0 end) as net_buyers,
      sum(${LOG('y.net')}) as net_log, sum(${LOG('y.net')} * ${LOG('y.net')}) as net_log_sq
    from (
      select e.customer_id, e.control, count(o.id) as orders,
        case when e.entered_at + ${window} <= ${o.now} then 1 else 0 end as done,
        coalesce(sum(o.total_minor), 0) as revenue,
        coalesce(sum(case when o.total_minor > o.discount_minor
          then o.total_minor - o.discount_minor else 0 end), 0) as net
      from (${entries}) e
      left join orders o on o.customer_id = e.customer_id and o.status != 'cancelled'
        and o.ordered_at > e.entered_at and o.ordered_at <= e.entered_at + ${window}
      group by e.customer_id, e.entered_at, e.control
    ) y
    group by y.control, y.done`.execute(k);
  const rows: Sums[] = [];
  let pending = 0;
  for (const raw of r.rows) {
    const entries = Object.entries(raw).map(([key, v]) => [key, Number(v ?? 0)]);
    const row = Object.fromEntries(entries) as unknown as Sums & { done: number };
    if (row.done === 1) rows.push(row);
    else pending += row.n;
  }
  return { rows, pending };
}

function asRow(s: Sums, net: boolean): EnrollmentRow {
  return {
    sequence_id: 'programme',
    version: 0,
    churn_reason: 'unknown',
    holdout: s.control,
    enrolled: s.n,
    active: 0,
    conversions: s.conversions,
    revenue: net ? s.net : s.revenue,
    discount: 0,
    revenue_sq: net ? s.net_sq : s.revenue_sq,
    buyers: net ? s.net_buyers : s.buyers,
    revenue_log: net ? s.net_log : s.revenue_log,
    revenue_log_sq: net ? s.net_log_sq : s.revenue_log_sq,
  };
}

/**
 * The programme's uplift over the global control group for customers whose first entry (into
 * any sequence) lies in [since, until) and whose window has ended by `now`.
 */
export async function programmeReport(k: Kysely<Database>, o: ProgrammeOptions): Promise<ProgrammeReport> {
  const { rows, pending } = await programmeSums(k, o);
  const currency = o.currency ?? 'EUR';
  const uplift = upliftReport(
    rows.map((r) => asRow(r, false)),
    o.controlShare,
    currency,
  );
  const net = upliftReport(
    rows.map((r) => asRow(r, true)),
    o.controlShare,
    currency,
  );
  if (uplift.reason === 'no holdout') uplift.reason = 'no control group (controlGroup.share is 0)';
  else if (uplift.reason === 'no holdout enrolments yet') {
    uplift.reason = 'no control-group customers with a closed window yet';
  }
  return {
    controlShare: o.controlShare,
    rotation: o.rotation,
    windowDays: o.windowDays,
    pending,
    uplift,
    netRevenue: {
      differenceMinor: net.revenuePerEnrolledDifferenceMinor,
      ci95: net.revenuePerEnrolledDifferenceCi95,
      significant: net.revenueSignificant,
      minimumDetectableEffectMinor: net.revenueMinimumDetectableEffectMinor,
      verdict: net.revenueVerdict,
    },
  };
}
