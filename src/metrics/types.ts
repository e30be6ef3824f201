/**
 * The shape of the success report: what `comeback stats --json` prints and the dashboard's
 * `/dashboard/api/stats` serves. Field names are a public contract; add fields, never rename.
 *
 * Conventions: money is integer minor units (`*Minor`) of the sequence's `currency`; rates are
 * fractions (0.1 = 10%) and null when their denominator is 0; times are ISO 8601 UTC strings.
 * Every count is of the enrolments that started at or after `since` (a cohort view), except the
 * deliverability health, which always looks at a rolling window up to now.
 */
import type { PreferenceReport } from './preferences.js';
import type { Interval } from './stats/uplift.js';

/** Rates of a funnel; null when the denominator is 0. */
export interface FunnelRates {
  /** delivered / sent. Without delivery reports from the provider this stays low or 0. */
  delivery: number | null;
  /** bounced / sent (hard bounces). */
  bounce: number | null;
  /** humanOpens / sent: messages opened by a person (prefetches excluded). */
  open: number | null;
  /** humanClicks / sent: messages clicked by a person (link scanners excluded). */
  click: number | null;
  /** humanClicks / humanOpens (click-to-open rate). */
  clickToOpen: number | null;
  /** unsubscribes / sent. */
  unsubscribe: number | null;
  /** complaints / sent (spam reports). */
  complaint: number | null;
  /** conversions / enrolled: share of the mailed enrolments that reached the goal. */
  conversion: number | null;
  /** revenueMinor / enrolled, in minor units (not rounded). */
  revenuePerEnrolledMinor: number | null;
  /** netRevenueMinor / enrolled, in minor units (not rounded). */
  netRevenuePerEnrolledMinor: number | null;
}

/**
 * One funnel. On sequence, version and churn-reason level `enrolled` counts mailed (non-holdout)
 * enrolments; on step and variant level it counts the enrolments that were sent that step
 * (variant), and `conversions` those of them that converted after it was sent.
 * Opens, clicks, unsubscribes, complaints, bounces and deliveries count distinct messages.
 */
export interface Funnel {
  /** Mailed enrolments (holdout excluded; see the level rules above). */
  enrolled: number;
  /** Holdout enrolments (never mailed); 0 on step and variant level. */
  holdout: number;
  /** Messages accepted by the mail provider (status `sent`). */
  sent: number;
  /** Messages with a delivery report. */
  delivered: number;
  /** Messages that hard-bounced. */
  bounced: number;
  /** Messages opened by a person at least once. */
  humanOpens: number;
  /** Messages opened only by a machine (Apple Mail Privacy Protection, proxies), never by a person. */
  machineOpens: number;
  /** Messages clicked by a person at least once. */
  humanClicks: number;
  /** Messages clicked only by a link scanner or bot. */
  botClicks: number;
  /** Messages through which the recipient unsubscribed. */
  unsubscribes: number;
  /** Messages reported as spam. */
  complaints: number;
  /** Mailed enrolments that converted (reached the purchase goal). */
  conversions: number;
  /** Order value of those conversions, minor units. */
  revenueMinor: number;
  /** Discount given on those orders (coupon cost), minor units. */
  discountMinor: number;
  /** revenueMinor − discountMinor: what the conversions earned after the discount given away. */
  netRevenueMinor: number;
  /** Rates derived from the counts above. */
  rates: FunnelRates;
}

/** The funnel of one stored version of a sequence. */
export interface VersionFunnel extends Funnel {
  /** The sequence version (enrolments finish on the version they started with). */
  version: number;
}

/** The funnel of customers with one churn reason. */
export interface ChurnReasonFunnel extends Funnel {
  /** The customer's churn reason now (e.g. `price`), or `unknown`. */
  churnReason: string;
}

/** Posterior of a variant's metric: mean and central 95% credible interval. */
export interface PosteriorEstimate {
  /** Posterior mean. */
  mean: number;
  /** Central 95% credible interval [low, high]. */
  ci95: Interval;
}

/** One variant of a step (the step's own content is the variant with id null, "control"). */
export interface VariantReport {
  /** Variant id from the YAML, or null for the step's own content. */
  variantId: string | null;
  /** Display name: the variant id, or `control` for the step's own content. */
  label: string;
  /** Funnel of the enrolments that were sent this variant. */
  funnel: Funnel;
  /** Conversions credited to this variant by the last human click before the purchase. */
  creditedConversions: number;
  /** Bandit trials: enrolments sent this variant (all versions of the step). */
  trials: number;
  /** Bandit successes: those enrolments that converted after the send. */
  successes: number;
  /** Posterior of the conversion rate per send: Beta(1 + successes, 1 + failures). */
  conversionPosterior: PosteriorEstimate;
  /** Posterior of net revenue per send, minor units; null while no conversion has a value yet. */
  netRevenuePerSendPosterior: PosteriorEstimate | null;
  /** Posterior probability that this variant is the best on the sequence's metric. */
  probabilityBest: number;
  /** Traffic share the scheduler uses for this variant now (probabilityBest after the exploration floor). */
  allocation: number;
}

/** One step: its funnel, and its variants when it has any. */
export interface StepReport {
  /** Step id from the YAML. */
  stepId: string;
  /** Position in the current version of the sequence (0-based); null for a step no longer in the file. */
  index: number | null;
  /** Funnel of the enrolments that were sent this step. */
  funnel: Funnel;
  /** Variants with posterior and allocation; empty when the step has no `variants`. */
  variants: VariantReport[];
}

/** Mailed or holdout group of the uplift comparison. */
export interface UpliftGroup {
  /** Enrolments in the group. */
  enrolled: number;
  /** Enrolments in the group that converted. */
  conversions: number;
  /** conversions / enrolled; null when the group is empty. */
  conversionRate: number | null;
  /** Revenue of the group's conversions, minor units. */
  revenueMinor: number;
  /** revenueMinor / enrolled (minor units, not rounded); null when the group is empty. */
  revenuePerEnrolledMinor: number | null;
}

/**
 * Uplift of the mailed group over the holdout. With `available: false` nothing is claimed:
 * `reason` says why (e.g. the sequence has no holdout) and the comparison fields are null.
 */
export interface UpliftReport {
  /** True when both groups have enrolments and the numbers below are filled. */
  available: boolean;
  /** Why there is no uplift: `no holdout` (the sequence has none), `no holdout enrolments yet`, `no mailed enrolments yet`, `too few enrolments`; null when available. */
  reason: string | null;
  /** The holdout share configured in the current version of the sequence (0.1 = 10%). */
  holdoutShare: number;
  /** The mailed (treated) group. */
  mailed: UpliftGroup;
  /** The holdout group (never mailed: the baseline). */
  holdout: UpliftGroup;
  /** Conversion-rate uplift in percentage points as a fraction (mailed rate − holdout rate); null when unavailable. */
  absolute: number | null;
  /** 95% confidence interval of `absolute` (Newcombe hybrid score); null when unavailable. */
  absoluteCi95: Interval | null;
  /** mailed rate / holdout rate − 1 (0.25 = +25%); null when unavailable or the holdout rate is 0. */
  relative: number | null;
  /** 95% interval of `relative` (Katz log risk ratio); null when `relative` is. */
  relativeCi95: Interval | null;
  /** Two-sided p-value of the pooled two-proportion z-test; null when unavailable. */
  pValue: number | null;
  /** True when `absoluteCi95` excludes 0. */
  significant: boolean;
  /** Smallest conversion uplift these group sizes detect (two-sided 5%, 80% power), as a fraction; null when unavailable. */
  minimumDetectableEffect: number | null;
  /** The conversion result in words, e.g. "not significant: too few in the holdout to see less than +4.1 pp"; null when unavailable. */
  verdict: string | null;
  /** Revenue per enrolment, mailed − holdout, minor units; null when unavailable. */
  revenuePerEnrolledDifferenceMinor: number | null;
  /** 95% interval of that difference (two-part lognormal MOVER), minor units; null when unavailable (needs 2 buyers per group). */
  revenuePerEnrolledDifferenceCi95: Interval | null;
  /** True when the revenue interval excludes 0. */
  revenueSignificant: boolean;
  /** Smallest difference in revenue per enrolment these sizes detect (5%, 80% power), minor units; null when unavailable. */
  revenueMinimumDetectableEffectMinor: number | null;
  /** The revenue result in words (as `verdict`); null when unavailable. */
  revenueVerdict: string | null;
  /** Revenue the mails added: difference per enrolment × mailed enrolments, minor units; null when unavailable. */
  incrementalRevenueMinor: number | null;
  /** 95% interval of the incremental revenue, minor units; null when unavailable. */
  incrementalRevenueCi95: Interval | null;
}

/** Rolling delivery health of one sender (transport) or of the whole sequence. */
export interface DeliverabilityHealth {
  /** Messages sent in the window. */
  sent: number;
  /** Spam complaints about those messages. */
  complaints: number;
  /** Hard bounces of those messages. */
  hardBounces: number;
  /** complaints / sent (0 when nothing was sent). */
  complaintRate: number;
  /** hardBounces / sent (0 when nothing was sent). */
  hardBounceRate: number;
  /** Likelihood ratio of the complaints at the harmful rate against the acceptable one (the guard's evidence). */
  complaintEvidence: number;
  /** The same for hard bounces. */
  hardBounceEvidence: number;
  /** The guard's verdict: `ok`, `warn` (a rate reached its acceptable level), `pause` (the evidence reached its threshold). */
  level: 'ok' | 'warn' | 'pause';
  /** One plain sentence per finding (never empty). */
  reasons: string[];
}

/** Delivery health of a sender (the transport that sent the messages, e.g. `smtp`, `sendgrid`). */
export interface SenderHealth extends DeliverabilityHealth {
  /** Transport name. */
  sender: string;
}

/** Deliverability of a sequence over the rolling window. */
export interface DeliverabilityReport extends DeliverabilityHealth {
  /** Length of the rolling window in days (messages sent within it count). */
  windowDays: number;
  /** Start of the window. */
  windowStart: string;
  /** The same, per sender. */
  bySender: SenderHealth[];
}

/** Everything about one sequence. */
export interface SequenceReport {
  /** Sequence id. */
  sequenceId: string;
  /** Readable name from the YAML (the id when the file is gone). */
  name: string;
  /** Current version number. */
  version: number;
  /** `active` or `paused`; paused sequences neither enrol nor send. */
  status: string;
  /** Why the sequence paused itself (or was paused), null when active. */
  pausedReason: string | null;
  /** Currency of the money fields (the conversions' currency, else the shop default). */
  currency: string;
  /** The metric the variant bandit optimises: `conversion` or `net_revenue`. */
  optimize: 'conversion' | 'net_revenue';
  /** Enrolments still running (mailed and holdout). */
  active: number;
  /** The sequence's funnel (mailed enrolments). */
  funnel: Funnel;
  /** Funnel per stored version. */
  byVersion: VersionFunnel[];
  /** Funnel per step, with variants. */
  steps: StepReport[];
  /** Funnel per churn reason of the customers (`unknown` when none is known). */
  byChurnReason: ChurnReasonFunnel[];
  /** Uplift against the holdout, or the reason there is none. */
  uplift: UpliftReport;
  /** The path experiment, when a step splits into random cohorts (absent otherwise). */
  paths?: PathExperimentReport;
  /** Rolling complaint and hard-bounce health and the guard verdict. */
  deliverability: DeliverabilityReport;
}

/** A customer who came back: one conversion of a mailed enrolment. */
export interface ReturnedCustomer {
  /** Internal customer id. */
  customerId: number;
  /** The shop's customer id. */
  externalId: string;
  /** First name, for display (null when unknown or erased). */
  firstName: string | null;
  /** The sequence that won them back. */
  sequenceId: string;
  /** Step credited (last human click), null when nobody clicked. */
  stepId: string | null;
  /** Variant credited, null for the step's own content or no click. */
  variantId: string | null;
  /** How the order was attributed: `goal_window` or `coupon`. */
  attributedBy: string;
  /** When they bought. */
  convertedAt: string;
  /** Order value, minor units. */
  revenueMinor: number;
  /** Discount given, minor units. */
  discountMinor: number;
  /** revenueMinor − discountMinor. */
  netRevenueMinor: number;
  /** Currency of the amounts. */
  currency: string;
}

/** The success report: one JSON document for `comeback stats --json` and the dashboard. */
export interface StatsReport {
  /** When the report was computed (engine clock). */
  generatedAt: string;
  /** Only enrolments from this time on are counted; null for all time. */
  since: string | null;
  /** One entry per sequence, sorted by id. */
  sequences: SequenceReport[];
  /** The most recent conversions of mailed enrolments (newest first, at most 20). */
  recentlyReturned: ReturnedCustomer[];
  /** Kept instead of lost: snoozes, frequency changes and topic opt-outs per step beside unsubscribes. */
  preferences: PreferenceReport;
  /** The whole programme against the global control group (all sequences, whatever `sequence` filters). */
  programme: ProgrammeReport;
}

/** Options of `buildStatsReport`. */
export interface StatsReportOptions {
  /** One sequence id (default: all). */
  sequence?: string;
  /** Count only enrolments from this time on (epoch ms or Date). */
  since?: number | Date;
}

/** The programme's uplift over the global control group (docs/METRICS.md, "The whole programme"). */
export interface ProgrammeReport {
  /** Configured share of the control group (0 when switched off). */
  controlShare: number;
  /** The rotation key the group is currently drawn with. */
  rotation: string;
  /** Days after a customer's first entry in the period over which their orders count. */
  windowDays: number;
  /** Eligible customers whose window has not ended yet: counted once it has. */
  pending: number;
  /**
   * Programme (every eligible customer outside the control group: `mailed`) against the control
   * group (`holdout`): conversion = bought at least once in the window; revenue = the sum of
   * their orders in it, per eligible customer. Same fields and methods as a sequence's uplift.
   */
  uplift: UpliftReport;
  /** Net revenue (orders minus their discounts) per eligible customer, programme − control. */
  netRevenue: {
    differenceMinor: number | null;
    ci95: Interval | null;
    significant: boolean;
    minimumDetectableEffectMinor: number | null;
    verdict: string | null;
  };
}

/** A path experiment (a step split into random cohorts): each cohort vs the holdout, and every pair. */
export interface PathExperimentReport {
  /** How the pairwise intervals are corrected for the number of comparisons. */
  correction: 'bonferroni';
  /** Number of pairwise comparisons m = k(k−1)/2 for k cohorts. */
  comparisons: number;
  /** Confidence level of each pairwise interval: 1 − 0.05/m (the family keeps 95%). */
  pairLevel: number;
  /**
   * How entrants are split now: `fixed` (the written shares), `warming_up` (adaptive, but some
   * cohort has fewer matured enrolments than `adapt_after`: the written shares still apply) or
   * `adaptive` (the optimiser's shares).
   */
  allocation: 'fixed' | 'warming_up' | 'adaptive';
  /**
   * How the pairs are compared: `pooled` (Newcombe's interval over all enrolments: the shares
   * never changed) or `stratified` (Mantel–Haenszel over allocation epochs: the shares moved).
   */
  pairMethod: 'pooled' | 'stratified';
  /**
   * Each cohort (mailed enrolments drawn into it) against the sequence's whole holdout. `share`:
   * the share new entrants are drawn with now; `probabilityBest`: the posterior probability that
   * the cohort is best on the `optimize` metric (null unless adaptive); `matured`: its mailed
   * enrolments whose path and goal window are over.
   */
  cohorts: {
    cohortId: string;
    share: number;
    probabilityBest: number | null;
    matured: number;
    uplift: UpliftReport;
    /**
     * With `pairMethod: stratified`: conversion rate of the cohort − that of the holdout, compared
     * within allocation epochs (Mantel–Haenszel, 95%). `uplift` pools all epochs and is then only
     * indicative: the cohort's enrolments are not spread over time like the holdout's. Else null.
     */
    vsHoldoutStratified: { difference: number; ci95: Interval } | null;
  }[];
  /** Conversion rate of `b` − that of `a`, with its corrected interval. */
  pairs: {
    a: string;
    b: string;
    difference: number | null;
    ci: Interval | null;
    significant: boolean;
    /** The cohort that converts better when `significant`, else null. */
    better: string | null;
    /** Smallest difference these sizes detect at the corrected level with 80% power. */
    minimumDetectableEffect: number | null;
  }[];
}
