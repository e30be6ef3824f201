/**
 * Deliverability guard: decides from complaint and hard-bounce counts whether a win-back send
 * may go on, should be looked at, or must pause. Lapsed lists are where old, dead and annoyed
 * addresses live, so this is the check that protects the sending domain's reputation.
 *
 * It pauses on evidence, not on a raw rate. The worker looks at the counts every minute, and a
 * raw rate checked that often pauses a healthy sender sooner or later by chance alone. So each
 * count is weighed by a sequential likelihood-ratio test (Wald's SPRT): how much more likely are
 * `x` complaints in `n` mails if the sender is at the harmful rate p₁ (`complaintPause`) than at
 * the acceptable rate p₀ (`complaintWarn`)?
 *
 *   LR = (p₁/p₀)^x · ((1−p₁)/(1−p₀))^(n−x)
 *
 * Under p₀ the LR is a martingale, so by Ville's inequality the chance that it ever reaches E —
 * however often it is looked at — is at most 1/E. The guard pauses when LR ≥ E (`complaintEvidence`)
 * and at least `minEvents` complaints were counted; the same for hard bounces. The defaults are
 * set by the seeded simulations of `npm run bench -- guard` (docs/METRICS.md): a 30-day campaign
 * of 20,000 mails checked every minute pauses at 0.1% complaints in under 5% of campaigns and at
 * 0.5% within its first 2,000 mails in 95%.
 */
import { DEFAULT_GUARD_THRESHOLDS as GUARD_DEFAULTS } from '../../config/defaults.js';

/** Delivery counts of a send (or of a recent window of it). */
export interface DeliveryCounts {
  /** Messages sent (accepted for delivery). */
  sent: number;
  /** Spam complaints (feedback loops). */
  complaints: number;
  /** Permanent bounces (no such mailbox/domain). */
  hardBounces: number;
}

/** Rates (fractions of `sent`: 0.001 = 0.1%) and evidence levels of the guard. */
export interface GuardThresholds {
  /** Acceptable complaint rate (the test's null), and the rate from which to warn. Default 0.001: providers want spam under 0.1%. */
  complaintWarn: number;
  /** Harmful complaint rate the test is built to catch. Default 0.005: well over Gmail's and Yahoo's 0.3% limit. */
  complaintPause: number;
  /** Likelihood ratio (harmful : acceptable) at which complaints pause. Default 2.75 (with `minEvents`, see the module comment). */
  complaintEvidence: number;
  /** Acceptable hard-bounce rate, and the rate from which to warn. Default 0.02. */
  hardBounceWarn: number;
  /** Harmful hard-bounce rate the test is built to catch. Default 0.05: above ~5% the list itself is stale. */
  hardBouncePause: number;
  /** Likelihood ratio at which hard bounces pause. Default 20: at the acceptable rate a pause has at most a 1-in-20 chance, ever. */
  hardBounceEvidence: number;
  /** Complaints (or bounces) needed before they may pause (default 5): a handful of events says little. */
  minEvents: number;
  /** Sends needed before anything may pause (default 200). */
  minVolume: number;
}

/** The default thresholds (owned by the configuration). */
export const DEFAULT_GUARD_THRESHOLDS: Readonly<GuardThresholds> = GUARD_DEFAULTS;

/** The guard's decision, with one plain sentence per finding. */
export interface DeliverabilityVerdict {
  level: 'ok' | 'warn' | 'pause';
  reasons: string[];
  /** complaints / sent and hardBounces / sent (0 when nothing was sent). */
  rates: { complaint: number; hardBounce: number };
  /** Likelihood ratios harmful : acceptable rate of complaints and of hard bounces (1 when nothing was sent). */
  evidence: { complaint: number; hardBounce: number };
}

/**
 * Likelihood ratio of `events` in `sent` at rate `harmful` against rate `acceptable`:
 * (p₁/p₀)^x · ((1−p₁)/(1−p₀))^(n−x). Above 1 the counts fit the harmful rate better.
 */
export function rateEvidence(events: number, sent: number, acceptable: number, harmful: number): number {
  const llr = events * Math.log(harmful / acceptable) + (sent - events) * Math.log((1 - harmful) / (1 - acceptable));
  return Math.exp(Math.min(700, llr));
}

/** The pause decision alone (no sentences): what the worker and the simulations both use. */
export function guardLevel(counts: DeliveryCounts, t: GuardThresholds): DeliverabilityVerdict['level'] {
  const { sent, complaints, hardBounces } = counts;
  if (sent === 0) return 'ok';
  if (pauses(complaints, sent, t.complaintWarn, t.complaintPause, t.complaintEvidence, t)) return 'pause';
  if (pauses(hardBounces, sent, t.hardBounceWarn, t.hardBouncePause, t.hardBounceEvidence, t)) return 'pause';
  return complaints / sent >= t.complaintWarn || hardBounces / sent >= t.hardBounceWarn ? 'warn' : 'ok';
}

function pauses(
  events: number,
  sent: number,
  acceptable: number,
  harmful: number,
  evidence: number,
  t: GuardThresholds,
): boolean {
  return sent >= t.minVolume && events >= t.minEvents && rateEvidence(events, sent, acceptable, harmful) >= evidence;
}

/**
 * Judges delivery counts (a partial object overrides the default thresholds).
 *
 * - pause: complaints (or hard bounces) are at least `complaintEvidence` (`hardBounceEvidence`)
 *   times as likely at the harmful rate as at the acceptable one, with at least `minEvents` of
 *   them and `minVolume` sends;
 * - warn: otherwise, when a raw rate has reached its acceptable rate (`complaintWarn`,
 *   `hardBounceWarn`): worth a look, not yet evidence.
 *
 * `reasons` is never empty and states the rate, the counts and the evidence.
 */
export function deliverabilityVerdict(
  counts: DeliveryCounts,
  thresholds: Partial<GuardThresholds> = {},
): DeliverabilityVerdict {
  const t: GuardThresholds = { ...DEFAULT_GUARD_THRESHOLDS, ...thresholds };
  checkInputs(counts, t);
  const { sent, complaints, hardBounces } = counts;
  if (sent === 0)
    return {
      level: 'ok',
      reasons: ['nothing sent yet'],
      rates: { complaint: 0, hardBounce: 0 },
      evidence: { complaint: 1, hardBounce: 1 },
    };

  const rates = { complaint: complaints / sent, hardBounce: hardBounces / sent };
  const evidence = {
    complaint: rateEvidence(complaints, sent, t.complaintWarn, t.complaintPause),
    hardBounce: rateEvidence(hardBounces, sent, t.hardBounceWarn, t.hardBouncePause),
  };
  const level = guardLevel(counts, t);
  const reasons: string[] = [];
  const kinds = [
    {
      name: 'complaint',
      x: complaints,
      rate: rates.complaint,
      ev: evidence.complaint,
      ok: t.complaintWarn,
      bad: t.complaintPause,
      need: t.complaintEvidence,
    },
    {
      name: 'hard-bounce',
      x: hardBounces,
      rate: rates.hardBounce,
      ev: evidence.hardBounce,
      ok: t.hardBounceWarn,
      bad: t.hardBouncePause,
      need: t.hardBounceEvidence,
    },
  ];
  for (const k of kinds) {
    const fits = `${k.name} rate ${pct(k.rate)} (${k.x} of ${sent}) is ${times(k.ev)} as likely at the harmful ${pct(k.bad)} as at the acceptable ${pct(k.ok)}`;
    if (pauses(k.x, sent, k.ok, k.bad, k.need, t)) reasons.push(`${fits}: evidence reached ${times(k.need)}, pausing`);
    else if (k.rate >= k.ok) {
      const short =
        sent < t.minVolume
          ? `only ${sent} sent (pauses from ${t.minVolume})`
          : k.x < t.minEvents
            ? `only ${k.x} so far (pauses from ${t.minEvents})`
            : `pauses at ${times(k.need)}`;
      reasons.push(`${fits}; ${short}`);
    }
  }
  if (reasons.length === 0) {
    reasons.push(
      `complaint rate ${pct(rates.complaint)} and hard-bounce rate ${pct(rates.hardBounce)} are under their acceptable rates (${pct(t.complaintWarn)}, ${pct(t.hardBounceWarn)})`,
    );
  }
  return { level, reasons, rates, evidence };
}

/** A fraction as a percentage with two decimals: 0.0031 → "0.31%". */
function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** A likelihood ratio for a sentence: 0.37 → "0.37×", 12.4 → "12×", 3e9 → "over 1,000,000×". */
function times(x: number): string {
  if (x >= 1e6) return 'over 1,000,000×';
  return x >= 10 ? `${Math.round(x).toLocaleString('en')}×` : `${x.toFixed(2)}×`;
}

function checkInputs(c: DeliveryCounts, t: GuardThresholds): void {
  for (const key of ['sent', 'complaints', 'hardBounces'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0)
      throw new RangeError(`${key} must be a whole number ≥ 0, got ${c[key]}`);
  }
  if (c.complaints > c.sent || c.hardBounces > c.sent)
    throw new RangeError(
      `complaints (${c.complaints}) and hardBounces (${c.hardBounces}) cannot exceed sent (${c.sent})`,
    );
  for (const key of ['complaintWarn', 'complaintPause', 'hardBounceWarn', 'hardBouncePause'] as const) {
    if (!(t[key] > 0 && t[key] < 1)) throw new RangeError(`${key} must be a rate in (0, 1), got ${t[key]}`);
  }
  if (!(t.complaintWarn < t.complaintPause))
    throw new RangeError(`complaintWarn (${t.complaintWarn}) must be below complaintPause (${t.complaintPause})`);
  if (!(t.hardBounceWarn < t.hardBouncePause))
    throw new RangeError(`hardBounceWarn (${t.hardBounceWarn}) must be below hardBouncePause (${t.hardBouncePause})`);
  for (const key of ['complaintEvidence', 'hardBounceEvidence'] as const) {
    if (!(t[key] > 1 && Number.isFinite(t[key])))
      throw new RangeError(`${key} must be a number above 1, got ${t[key]}`);
  }
  for (const key of ['minEvents', 'minVolume'] as const) {
    if (!Number.isInteger(t[key]) || t[key] < 0)
      throw new RangeError(`${key} must be a whole number ≥ 0, got ${t[key]}`);
  }
}
