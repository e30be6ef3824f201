/**
 * The scheduling rules, once: what to do with one due enrolment, given the step machine's
 * decision and everything else that decides when a mail may go (send window, preferred hour,
 * frequency cap, holdout, the customer's preferences). A pure function: the scheduler turns its answer into database writes,
 * `comeback simulate` into in-memory state, so the two cannot disagree.
 *
 * The input is one object so that a new rule is a new field (a customer's snooze, a frequency
 * preference, a control group) and one new branch here, seen by the worker and the simulator alike.
 */
import { preferenceGate, type Preferences } from '../consent/preferences.js';
import type { Decision } from '../sequences/machine.js';
import { parseDuration } from '../sequences/duration.js';
import type { Sequence } from '../sequences/schema.js';
import { nextAtHour, nextInWindow } from './timing.js';

/** Everything the rules look at for one due enrolment. */
export interface PlanInput {
  /** The sequence version the enrolment runs. */
  sequence: Sequence;
  /** The enrolment's current step index (the step machine's position). */
  currentStep: number;
  /** Holdout enrolments are never mailed: they close when due (their conversion window ended). */
  holdout: boolean;
  /** The step machine's decision for now; not needed (and not read) for a holdout enrolment. */
  decision?: Decision;
  /** The time of this pass (epoch ms). */
  now: number;
  /** The customer's time zone (or the shop's default). */
  timeZone: string;
  /**
   * When mails to this address were reserved recently, across all sequences and all customer
   * records sharing the address (the frequency cap counts per address).
   */
  capHistory: readonly number[];
  /** The local hour the customer usually opens mail, when known. */
  preferredHour?: number;
  /** The customer's preference-centre choices (topics left, snooze, at most one a week/month). */
  preferences?: Preferences;
}

/** Where the enrolment goes after a step is done (sent or skipped): the next step, or (`dueAt` null) the end. */
export interface Advance {
  stepIndex: number;
  dueAt: number | null;
}

/** Why a mail waits. */
export type DeferReason = 'window' | 'hour' | 'cap' | 'preference';

/** What to do with a due enrolment. */
export type Plan =
  | { kind: 'exit'; status: 'converted' | 'exited'; reason: string; goal: boolean }
  | { kind: 'complete' }
  | { kind: 'skip'; reason: string; advance: Advance }
  | { kind: 'defer'; until: number; why: DeferReason }
  | { kind: 'reserve'; decision: Extract<Decision, { kind: 'send' }>; advance: Advance };

/** The sequence's frequency cap in milliseconds, when it has one. */
export function capOf(seq: Sequence): { max: number; per: number } | undefined {
  return seq.frequency_cap ? { max: seq.frequency_cap.max, per: parseDuration(seq.frequency_cap.per) } : undefined;
}

/** Decides what to do with one due enrolment (see `PlanInput`). */
export function plan(input: PlanInput): Plan {
  if (input.holdout) return { kind: 'complete' };
  const d = input.decision;
  if (!d) throw new Error('plan: a decision of the step machine is needed for an enrolment that is mailed');
  if (d.kind === 'exit') {
    const status = d.reason === 'purchased' ? 'converted' : 'exited';
    return { kind: 'exit', status, reason: d.reason, goal: Boolean(d.goal) };
  }
  if (d.kind === 'complete') return { kind: 'complete' };
  const advance: Advance = d.next
    ? { stepIndex: d.next.stepIndex, dueAt: d.next.dueAt }
    : { stepIndex: input.currentStep + 1, dueAt: null };
  if (d.kind === 'skip') return { kind: 'skip', reason: d.reason, advance };
  const { sequence: seq, now, timeZone } = input;
  // Send window in the customer's time zone, then the preferred hour, then the cross-sequence
  // frequency cap: each defers, none drops.
  let sendAt = nextInWindow(now, seq.send_window, timeZone);
  let why: DeferReason = 'window';
  // A follow-up waits (at most a day) for the hour the customer usually opens mail, if that
  // hour lies inside the send window; the first mail of a sequence never waits for it.
  if (input.preferredHour !== undefined && parseDuration(d.step.wait) > 0) {
    const at = nextAtHour(sendAt, input.preferredHour, timeZone);
    if (at > sendAt && nextInWindow(at, seq.send_window, timeZone) === at) [sendAt, why] = [at, 'hour'];
  }
  const limit = capOf(seq);
  const inCap = limit ? input.capHistory.filter((t) => t > now - limit.per) : [];
  if (limit && inCap.length >= limit.max) {
    const until = Math.min(...inCap) + limit.per;
    if (until > sendAt) [sendAt, why] = [until, 'cap'];
  }
  // The customer's own choices: a topic left ends the enrolment; a snooze or "one a week/month"
  // defers to the next send window after it.
  const gate = input.preferences ? preferenceGate(input.preferences, sendAt, input.capHistory, seq.topic) : undefined;
  if (gate?.kind === 'block') return { kind: 'exit', status: 'exited', reason: gate.reason, goal: false };
  if (gate?.kind === 'defer') [sendAt, why] = [nextInWindow(gate.until, seq.send_window, timeZone), 'preference'];
  if (sendAt > now) return { kind: 'defer', until: sendAt, why };
  return { kind: 'reserve', decision: d, advance };
}
