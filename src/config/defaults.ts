/**
 * Defaults the configuration schema owns and lower-level code shares: the double opt-in limits
 * (the `consent` section and `requestOptIn`) and the deliverability guard's thresholds (the
 * `guard` section and `deliverabilityVerdict`).
 */

/** How long a confirmation link stays valid unless configured otherwise: 72 hours. */
export const DEFAULT_OPT_IN_TTL_HOURS = 72;
/** At most this many confirmation mails per address and 24 hours (a form must not become a mail cannon). */
export const MAX_REQUESTS_PER_DAY = 3;

/**
 * The guard's default thresholds (meaning of each in `GuardThresholds`, metrics/stats/guard.ts):
 * complaints 0.1 % acceptable, 0.5 % harmful; hard bounces 2 % acceptable, 5 % harmful.
 */
export const DEFAULT_GUARD_THRESHOLDS = Object.freeze({
  complaintWarn: 0.001,
  complaintPause: 0.005,
  complaintEvidence: 2.75,
  hardBounceWarn: 0.02,
  hardBouncePause: 0.05,
  hardBounceEvidence: 20,
  minEvents: 5,
  minVolume: 200,
});
