/** The uplift section: mailed against holdout enrolments, with the intervals of `stats/uplift.ts`. */
import type { EnrollmentRow } from './queries.js';
import { formatMoney } from '../util/money.js';
import { conversionMde, conversionUplift, mdeFromInterval, powerVerdict, revenueUplift } from './stats/index.js';
import type { UpliftGroup, UpliftReport } from './types.js';

/** The revenue verdict while a group has fewer than 2 buyers. */
export const NO_REVENUE_INTERVAL = 'no interval yet (needs 2 buyers in each group)';

interface GroupSums {
  n: number;
  conversions: number;
  sum: number;
  sumSq: number;
  buyers: number;
  logSum: number;
  logSumSq: number;
}

function group(rows: readonly EnrollmentRow[], holdout: boolean): GroupSums {
  const g: GroupSums = { n: 0, conversions: 0, sum: 0, sumSq: 0, buyers: 0, logSum: 0, logSumSq: 0 };
  for (const r of rows) {
    if (Boolean(r.holdout) !== holdout) continue;
    g.n += r.enrolled;
    g.conversions += r.conversions;
    g.sum += r.revenue;
    g.sumSq += r.revenue_sq;
    g.buyers += r.buyers;
    g.logSum += r.revenue_log;
    g.logSumSq += r.revenue_log_sq;
  }
  return g;
}

function summary(g: GroupSums): UpliftGroup {
  return {
    enrolled: g.n,
    conversions: g.conversions,
    conversionRate: g.n > 0 ? g.conversions / g.n : null,
    revenueMinor: g.sum,
    revenuePerEnrolledMinor: g.n > 0 ? g.sum / g.n : null,
  };
}

/**
 * Uplift of the mailed enrolments over the holdout of one sequence (all its rows). Without a
 * configured holdout and without holdout enrolments the report says `no holdout` and claims nothing.
 */
export function upliftReport(rows: readonly EnrollmentRow[], holdoutShare: number, currency = 'EUR'): UpliftReport {
  const mailed = group(rows, false);
  const holdout = group(rows, true);
  const base: UpliftReport = {
    available: false,
    reason: null,
    holdoutShare,
    mailed: summary(mailed),
    holdout: summary(holdout),
    absolute: null,
    absoluteCi95: null,
    relative: null,
    relativeCi95: null,
    pValue: null,
    significant: false,
    minimumDetectableEffect: null,
    verdict: null,
    revenuePerEnrolledDifferenceMinor: null,
    revenuePerEnrolledDifferenceCi95: null,
    revenueSignificant: false,
    revenueMinimumDetectableEffectMinor: null,
    revenueVerdict: null,
    incrementalRevenueMinor: null,
    incrementalRevenueCi95: null,
  };
  if (holdout.n === 0) return { ...base, reason: holdoutShare > 0 ? 'no holdout enrolments yet' : 'no holdout' };
  if (mailed.n === 0) return { ...base, reason: 'no mailed enrolments yet' };
  const conv = conversionUplift({
    treated: { n: mailed.n, conversions: mailed.conversions },
    holdout: { n: holdout.n, conversions: holdout.conversions },
  });
  if (!conv.available) return { ...base, reason: conv.reason };
  const rev = revenueUplift({ treated: mailed, holdout });
  // The baseline is the holdout's rate: what the mailed group would convert at without the mail.
  const mde = conversionMde(conv.holdoutRate, mailed.n, holdout.n);
  const withConv: UpliftReport = {
    ...base,
    available: true,
    absolute: conv.absolute,
    absoluteCi95: conv.ci95,
    relative: conv.relative,
    relativeCi95: conv.relativeCi95,
    pValue: conv.pValue,
    significant: conv.significant,
    minimumDetectableEffect: mde,
    verdict: powerVerdict(conv.significant, `+${(mde * 100).toFixed(1)} pp`, mailed.n, holdout.n),
  };
  if (!rev.available) {
    // Too few buyers for an interval: the observed difference is still a fact worth showing.
    const difference = mailed.sum / mailed.n - holdout.sum / holdout.n;
    return {
      ...withConv,
      revenuePerEnrolledDifferenceMinor: difference,
      incrementalRevenueMinor: difference * mailed.n,
      revenueVerdict: NO_REVENUE_INTERVAL,
    };
  }
  const revMde = mdeFromInterval(rev.ci95);
  return {
    ...withConv,
    revenuePerEnrolledDifferenceMinor: rev.difference,
    revenuePerEnrolledDifferenceCi95: rev.ci95,
    revenueSignificant: rev.significant,
    revenueMinimumDetectableEffectMinor: revMde,
    revenueVerdict: powerVerdict(
      rev.significant,
      `+${formatMoney(Math.round(revMde), currency, 'en')} per enrolment`,
      mailed.n,
      holdout.n,
    ),
    incrementalRevenueMinor: rev.incrementalRevenue,
    incrementalRevenueCi95: rev.incrementalCi95,
  };
}
