/** Funnel arithmetic: summing counts from query rows and deriving the rates. */
import type { Funnel, FunnelRates } from './types.js';

/** The counts of a funnel, before rates. */
export type FunnelSums = Omit<Funnel, 'rates' | 'netRevenueMinor'>;

/** A funnel with every count 0. */
export function emptyFunnel(): FunnelSums {
  return {
    enrolled: 0,
    holdout: 0,
    sent: 0,
    delivered: 0,
    bounced: 0,
    humanOpens: 0,
    machineOpens: 0,
    humanClicks: 0,
    botClicks: 0,
    unsubscribes: 0,
    complaints: 0,
    conversions: 0,
    revenueMinor: 0,
    discountMinor: 0,
  };
}

/** Adds counts into `target` (in place). */
export function addFunnel(target: FunnelSums, add: Partial<FunnelSums>): void {
  for (const [key, value] of Object.entries(add) as [keyof FunnelSums, number][]) target[key] += value;
}

const ratio = (a: number, b: number): number | null => (b > 0 ? a / b : null);

/** The funnel with net revenue and rates (null where the denominator is 0). */
export function finishFunnel(s: FunnelSums): Funnel {
  const netRevenueMinor = s.revenueMinor - s.discountMinor;
  const rates: FunnelRates = {
    delivery: ratio(s.delivered, s.sent),
    bounce: ratio(s.bounced, s.sent),
    open: ratio(s.humanOpens, s.sent),
    click: ratio(s.humanClicks, s.sent),
    clickToOpen: ratio(s.humanClicks, s.humanOpens),
    unsubscribe: ratio(s.unsubscribes, s.sent),
    complaint: ratio(s.complaints, s.sent),
    conversion: ratio(s.conversions, s.enrolled),
    revenuePerEnrolledMinor: ratio(s.revenueMinor, s.enrolled),
    netRevenuePerEnrolledMinor: ratio(netRevenueMinor, s.enrolled),
  };
  return { ...s, netRevenueMinor, rates };
}
