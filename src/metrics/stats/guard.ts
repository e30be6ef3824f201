/**
 * Deliverability guard: decides from complaint and hard-bounce counts whether a win-back send
 * may go on, should be looked at, or must pause. Lapsed lists are where old, dead and annoyed
 * addresses live, so this is the check that protects the sending domain's reputation.
 */

/** Delivery counts of a send (or of a recent window of it). */
export interface DeliveryCounts {
  /** Messages sent (accepted for delivery). */
  sent: number;
  /** Spam complaints (feedback loops). */
  complaints: number;
  /** Permanent bounces (no such mailbox/domain). */
  hardBounces: number;
}

/** Thresholds of the guard, as fractions of `sent` (0.001 = 0.1%). */
export interface GuardThresholds {
  /** Complaint rate at which to warn. Default 0.001: mailbox providers want spam rates under 0.1%. */
  complaintWarn: number;
  /** Complaint rate at which to pause. Default 0.003: Gmail and Yahoo's bulk-sender limit is 0.3%. */
  complaintPause: number;
  /** Hard-bounce rate at which to pause. Default 0.05: above ~5% the list itself is stale. */
  hardBouncePause: number;
  /** Sends needed before a rate alone may pause (default 200): below it one complaint is a big rate. */
  minVolume: number;
}

/** The default thresholds. */
export const DEFAULT_GUARD_THRESHOLDS: Readonly<GuardThresholds> = Object.freeze({ complaintWarn: 0.001, complaintPause: 0.003, hardBouncePause: 0.05, minVolume: 200 });

/** The guard's decision, with one plain sentence per finding. */
export interface DeliverabilityVerdict {
  level: 'ok' | 'warn' | 'pause';
  reasons: string[];
  /** complaints / sent and hardBounces / sent (0 when nothing was sent). */
  rates: { complaint: number; hardBounce: number };
}

/**
 * Judges delivery counts against the thresholds (a partial object overrides the defaults).
 * A rate counts once it reaches its threshold (≥).
 *
 * - complaint rate ≥ complaintPause, or hard-bounce rate ≥ hardBouncePause → pause;
 *   complaint rate ≥ complaintWarn → warn.
 * - Below `minVolume` sends a rate never pauses on its own: 1 complaint in 40 sends is 2.5% but
 *   says little. Such a finding is reported as a warning that names the low volume, so the
 *   reasons always explain the level; with nothing over a threshold the low volume itself is the
 *   stated reason for withholding judgement.
 *
 * `reasons` is never empty.
 */
export function deliverabilityVerdict(counts: DeliveryCounts, thresholds: Partial<GuardThresholds> = {}): DeliverabilityVerdict {
  const t: GuardThresholds = { ...DEFAULT_GUARD_THRESHOLDS, ...thresholds };
  checkInputs(counts, t);
  const { sent, complaints, hardBounces } = counts;
  if (sent === 0) return { level: 'ok', reasons: ['nothing sent yet'], rates: { complaint: 0, hardBounce: 0 } };

  const complaint = complaints / sent;
  const hardBounce = hardBounces / sent;
  const enough = sent >= t.minVolume;
  const lowVolume = `only ${sent} sent (rates may pause from ${t.minVolume})`;
  const reasons: string[] = [];
  let level: DeliverabilityVerdict['level'] = 'ok';
  const raise = (to: 'warn' | 'pause') => {
    if (to === 'pause' || level === 'ok') level = to;
  };

  if (complaint >= t.complaintPause) {
    const finding = `complaint rate ${pct(complaint)} (${complaints} of ${sent}) reached the pause threshold ${pct(t.complaintPause)}`;
    if (enough) {
      raise('pause');
      reasons.push(finding);
    } else {
      raise('warn');
      reasons.push(`${finding}, but ${lowVolume}: warning instead of pausing`);
    }
  } else if (complaint >= t.complaintWarn) {
    raise('warn');
    reasons.push(`complaint rate ${pct(complaint)} (${complaints} of ${sent}) reached the warning threshold ${pct(t.complaintWarn)}${enough ? '' : `; ${lowVolume}`}`);
  }

  if (hardBounce >= t.hardBouncePause) {
    const finding = `hard-bounce rate ${pct(hardBounce)} (${hardBounces} of ${sent}) reached the pause threshold ${pct(t.hardBouncePause)}`;
    if (enough) {
      raise('pause');
      reasons.push(finding);
    } else {
      raise('warn');
      reasons.push(`${finding}, but ${lowVolume}: warning instead of pausing`);
    }
  }

  if (reasons.length === 0) {
    reasons.push(
      enough
        ? `complaint rate ${pct(complaint)} and hard-bounce rate ${pct(hardBounce)} are under their thresholds (${pct(t.complaintWarn)}, ${pct(t.hardBouncePause)})`
        : `${lowVolume}; nothing over a threshold so far (complaint rate ${pct(complaint)}, hard-bounce rate ${pct(hardBounce)})`,
    );
  }
  return { level, reasons, rates: { complaint, hardBounce } };
}

/** A fraction as a percentage with two decimals: 0.0031 → "0.31%". */
function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

function checkInputs(c: DeliveryCounts, t: GuardThresholds): void {
  for (const key of ['sent', 'complaints', 'hardBounces'] as const) {
    if (!Number.isInteger(c[key]) || c[key] < 0) throw new RangeError(`${key} must be a whole number ≥ 0, got ${c[key]}`);
  }
  if (c.complaints > c.sent || c.hardBounces > c.sent) throw new RangeError(`complaints (${c.complaints}) and hardBounces (${c.hardBounces}) cannot exceed sent (${c.sent})`);
  for (const key of ['complaintWarn', 'complaintPause', 'hardBouncePause'] as const) {
    if (!(t[key] > 0 && t[key] <= 1)) throw new RangeError(`${key} must be a rate in (0, 1], got ${t[key]}`);
  }
  if (t.complaintWarn > t.complaintPause) throw new RangeError(`complaintWarn (${t.complaintWarn}) must not exceed complaintPause (${t.complaintPause})`);
  if (!Number.isInteger(t.minVolume) || t.minVolume < 0) throw new RangeError(`minVolume must be a whole number ≥ 0, got ${t.minVolume}`);
}
