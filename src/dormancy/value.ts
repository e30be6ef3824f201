import type { ScoringSettings } from './config.js';

/** Reasons that exclude a customer from win-back whatever their value. */
export type ExclusionReason = 'objected' | 'bargain_hunter' | 'heavy_returner' | 'late_payer';

/** The exclusion signals of one customer. */
export interface ExclusionSignals {
  ordersCount: number;
  discountShare: number;
  returnRate: number;
  latePayments: number;
  objected: boolean;
}

/**
 * Which exclusion rules apply: an objection to marketing; a bargain hunter (discount share at or
 * above `maxDiscountShare`) or heavy returner (return rate at or above `maxReturnRate`), both
 * only with at least `minOrdersForShares` orders; `maxLatePayments` or more late payments.
 */
export function exclusionReasons(x: ExclusionSignals, s: ScoringSettings): ExclusionReason[] {
  const out: ExclusionReason[] = [];
  if (x.objected) out.push('objected');
  if (x.ordersCount >= s.minOrdersForShares && x.discountShare >= s.maxDiscountShare) out.push('bargain_hunter');
  if (x.ordersCount >= s.minOrdersForShares && x.returnRate >= s.maxReturnRate) out.push('heavy_returner');
  if (x.latePayments >= s.maxLatePayments) out.push('late_payer');
  return out;
}

/**
 * What a win-back attempt costs, minor units: the mails of a sequence plus the coupon
 * (`couponPercent` of the average order plus `couponFixedMinor`, times the redemption rate).
 */
export function recoveryCostMinor(avgOrderMinor: number, s: ScoringSettings): number {
  const mails = s.mailsPerSequence * s.mailCostMinor;
  const coupon = s.couponRedemptionRate * ((s.couponPercent / 100) * Math.max(0, avgOrderMinor) + s.couponFixedMinor);
  return Math.round(mails + coupon);
}

/**
 * Worth winning back: has bought before, no exclusion applies, and the margin on the expected
 * value covers the recovery cost. Without a fitted model (expected value unknown) the value test
 * is skipped and only the exclusions decide.
 */
export function isWorthWinningBack(
  ordersCount: number,
  expectedValueMinor: number | null,
  costMinor: number,
  reasons: ExclusionReason[],
  s: ScoringSettings,
): boolean {
  if (ordersCount < 1 || reasons.length > 0) return false;
  return expectedValueMinor === null || s.marginRate * expectedValueMinor >= costMinor;
}
