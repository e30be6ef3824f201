import { z } from 'zod';
import { ConfigError } from '../errors.js';
import { formatConfigIssues } from '../config/index.js';

/**
 * Every setting of a scoring run, with its default. One place, documented in docs/SCORING.md.
 * Money is in minor units of the shop currency; times in days.
 */
export const ScoringSettings = z.strictObject({
  /** Horizon of the expected customer value, in days. */
  horizonDays: z.number().positive().max(3650).default(365),
  /** Length of one discounting step of the expected value, days (30: month by month, as the reference implementation). */
  valueStepDays: z.number().positive().max(3650).default(30),
  /** Yearly discount rate of future revenue (0.1 = 10 % a year). */
  annualDiscountRate: z.number().min(0).max(10).default(0.1),
  /** Gross margin on revenue: winning back is worth it when margin × expected value ≥ recovery cost. */
  marginRate: z.number().gt(0).max(1).default(0.3),
  /** Cost of one win-back mail (sending, tooling), minor units. */
  mailCostMinor: z.number().int().min(0).default(2),
  /** Mails a win-back sequence sends on average. */
  mailsPerSequence: z.number().int().min(0).default(3),
  /** Coupon value as percent of the customer's average order. */
  couponPercent: z.number().min(0).max(100).default(10),
  /** A fixed coupon amount on top (minor units), e.g. a 5 € voucher. */
  couponFixedMinor: z.number().int().min(0).default(0),
  /** Share of redeemed coupons assumed in the cost (1 = every coupon is redeemed). */
  couponRedemptionRate: z.number().min(0).max(1).default(1),
  /** Exclusion: share of discounted orders at or above this marks a bargain hunter (needs `minOrdersForShares` orders). */
  maxDiscountShare: z.number().min(0).max(1).default(0.6),
  /** Exclusion: share of order value returned at or above this marks a heavy returner. */
  maxReturnRate: z.number().min(0).max(1).default(0.5),
  /** Exclusion: this many late payments or more. */
  maxLatePayments: z.number().int().min(1).default(2),
  /** Orders needed before discount share and return rate count as an exclusion signal. */
  minOrdersForShares: z.number().int().min(1).default(2),
  /** Intervals (purchase days − 1) needed to trust a customer's own interval (1: any repeat buyer, as the audience fields). */
  minOwnIntervals: z.number().int().min(1).default(1),
  /** Weight of the shop prior, in pseudo-intervals, when shrinking a short history toward it. */
  priorWeight: z.number().min(0).default(2),
  /** The prior when the shop has no repeat buyers at all. */
  defaultIntervalDays: z.number().positive().default(30),
  /** Early warning from this overdue ratio on... */
  earlyWarningRatio: z.number().positive().default(1.5),
  /** ...up to (not including) this ratio, where a customer counts as lost. */
  lostRatio: z.number().positive().default(3),
  /** A customer whose P(alive) is below this counts as lost (no early warning any more). */
  lostPAlive: z.number().min(0).max(1).default(0.3),
  /** Scores older than this are stale: audience evaluation re-scores first. */
  staleAfterHours: z.number().positive().default(24),
  /** Customers per page read from the database (small pages die young: a 1,000-customer page halves the garbage-collection cost of 5,000). */
  pageSize: z.number().int().min(1).max(100_000).default(1000),
  /** Score rows per upsert statement. */
  writeBatchSize: z.number().int().min(1).max(20_000).default(2000),
  /** At most this many customers go into the BG/NBD fit (the fitter folds identical (frequency, recency, T) rows into weights); above, a seeded uniform sample. */
  maxFitRows: z.number().int().min(100).default(50_000),
  /** At most this many repeat customers go into the Gamma-Gamma fit; above, a seeded sample. */
  maxSpendFitRows: z.number().int().min(100).default(50_000),
  /** The model is only fitted with at least this many customers with orders... */
  minFitCustomers: z.number().int().min(2).default(30),
  /** ...and at least this many repeat buyers. */
  minRepeatCustomers: z.number().int().min(2).default(10),
  /** Horizon of `p_return`, the probability of buying again without a mail, in days (the backtest's horizon). */
  returnHorizonDays: z.number().int().min(7).max(730).default(90),
  /** At most this many customers (a seeded sample) go into the backtest that picks and calibrates `p_return`. */
  maxBacktestCustomers: z.number().int().min(100).default(20_000),
  /** Seed of the fit sample, so a run is reproducible. */
  seed: z.number().int().default(1),
});
/** Settings of a scoring run, defaults filled in. */
export type ScoringSettings = z.infer<typeof ScoringSettings>;
/** What a caller may pass: every field optional. */
export type ScoringSettingsInput = z.input<typeof ScoringSettings>;

/** The defaults, for documentation and display. */
export const DEFAULT_SCORING_SETTINGS: ScoringSettings = ScoringSettings.parse({});

/** Validates settings and fills defaults; throws ConfigError naming each wrong field. */
export function parseScoringSettings(input: unknown): ScoringSettings {
  const r = ScoringSettings.safeParse(input ?? {});
  if (!r.success)
    throw new ConfigError(
      `invalid scoring settings:\n${formatConfigIssues(ScoringSettings, r.error.issues, 'scoring')}`,
    );
  const s = r.data;
  if (s.earlyWarningRatio >= s.lostRatio)
    throw new ConfigError(
      `scoring.earlyWarningRatio (${s.earlyWarningRatio}) must be below scoring.lostRatio (${s.lostRatio})`,
    );
  return s;
}
