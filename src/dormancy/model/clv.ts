/**
 * Customer lifetime value: BG/NBD expected purchases × Gamma-Gamma expected spend, discounted,
 * computed the way the `lifetimes` library's customer_lifetime_value does (step-wise increments
 * of the cumulative expected purchases, each discounted at the end of its step).
 */

import { bgNbdExpectedPurchases, type BgNbdParams } from './bgnbd.js';
import { gammaGammaExpectedSpend, type GammaGammaParams } from './gammagamma.js';
import { checkHistory, checkNumber } from './validate.js';

/** Horizon and discounting for {@link customerLifetimeValue}, in the data's time unit. */
export interface ClvOptions {
  /** How far ahead to value the customer, > 0. */
  horizon: number;
  /** Discount rate per step (e.g. 0.01 per month when step is one month), >= 0. */
  discountRatePerPeriod: number;
  /** Length of one discounting step, > 0 (default 1 time unit); the last step may be partial. */
  step?: number;
}

/** A customer's purchase and spend history. */
export interface ClvCustomer {
  frequency: number;
  recency: number;
  T: number;
  /** Mean value of the repeat purchases (ignored when frequency is 0). */
  monetaryValue: number;
}

/**
 * Discounted expected value of a customer's purchases over the horizon:
 *   Σ_k spend · (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d)^(t_k / step),  t_k = min(k·step, horizon)
 * where E[Y] is the BG/NBD conditional expectation and spend the Gamma-Gamma conditional mean.
 * With step = 30 on weekly data, horizon = 360 and d = 0.01 this is lifetimes' default
 * (time=12, freq="D") computation.
 * @param bgParams fitted BG/NBD parameters
 * @param ggParams fitted Gamma-Gamma parameters
 * @param customer frequency, recency, T and mean repeat spend
 * @param options horizon, discount rate per step and step length
 */
export function customerLifetimeValue(
  bgParams: BgNbdParams,
  ggParams: GammaGammaParams,
  customer: ClvCustomer,
  options: ClvOptions,
): number {
  const history = checkHistory(customer, undefined);
  const spend = gammaGammaExpectedSpend(ggParams, customer);
  if (typeof options !== 'object' || options === null)
    throw new RangeError('customerLifetimeValue: options { horizon, discountRatePerPeriod } are required');
  const horizon = checkNumber(options.horizon, 'horizon', undefined, 0, true);
  const rate = checkNumber(options.discountRatePerPeriod, 'discountRatePerPeriod', undefined);
  const step = checkNumber(options.step ?? 1, 'step', undefined, 0, true);
  const steps = Math.max(1, Math.ceil(horizon / step - 1e-9)); // tolerate rounding in horizon / step
  if (steps > 1e6) throw new RangeError(`customerLifetimeValue: ${steps} steps; use a larger step`);
  let value = 0;
  let previous = 0;
  for (let k = 1; k <= steps; k++) {
    const t = Math.min(k * step, horizon);
    const cumulative = bgNbdExpectedPurchases(bgParams, t, history);
    value += (spend * (cumulative - previous)) / Math.pow(1 + rate, t / step);
    previous = cumulative;
  }
  return value;
}
