/**
 * Preference-centre choices (snooze, frequency, topics, language) as consent-ledger entries, and
 * the pure rule that applies them to one mail. A choice is never an objection: an objection
 * (unsubscribe) is a withdrawal in the ledger and stops all marketing; a preference only defers
 * mail (snooze, frequency) or narrows it (topics).
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { boundedText, TEXT } from '../util/limits.js';

/** Snooze lengths offered, in days. */
export const SNOOZE_DAYS = [30, 90, 180] as const;
/** Frequencies offered: no limit beyond the sequences' own caps, one a week, one a month. */
export const FREQUENCIES = ['any', 'weekly', 'monthly'] as const;
export type Frequency = (typeof FREQUENCIES)[number];
/** Languages the preference page and the shipped templates offer. */
export const PREFERENCE_LOCALES = ['de', 'en'] as const;

const DAY = 86_400_000;
/** The window of one mail at most, per frequency. */
export const FREQUENCY_WINDOW: Record<Frequency, number> = { any: 0, weekly: 7 * DAY, monthly: 30 * DAY };

/** The ledger action of a preference entry (beside `grant` and `withdraw`). */
export const PREFERENCE_ACTION = 'preference';

/**
 * One change, as the page, the API and the library send it. Exactly one key is given. `snooze: 0`
 * ends a snooze early.
 */
export const PreferenceChoice = z.union([
  z.strictObject({ snooze: z.union([z.literal(0), z.literal(30), z.literal(90), z.literal(180)]) }),
  z.strictObject({ frequency: z.enum(FREQUENCIES) }),
  z.strictObject({ topic: boundedText(TEXT.short).min(1), subscribed: z.boolean() }),
  z.strictObject({ locale: z.enum(PREFERENCE_LOCALES) }),
]);
export type PreferenceChoice = z.infer<typeof PreferenceChoice>;

/** A customer's current preferences, folded from the ledger. */
export interface Preferences {
  /** No marketing mail before this time (ms); null when not snoozed. */
  snoozedUntil: number | null;
  /** The snooze in force: its length in days and when it was chosen (null when not snoozed). */
  snooze: { days: number; at: number } | null;
  frequency: Frequency;
  /** Topics the customer opted out of. */
  topicsOut: string[];
  /** The language the customer chose; null when never chosen (the shop's locale applies). */
  locale: string | null;
}

/** Preferences of someone who never chose anything. */
export const NO_PREFERENCES: Preferences = Object.freeze({
  snoozedUntil: null,
  snooze: null,
  frequency: 'any',
  topicsOut: [],
  locale: null,
}) as Preferences;

/** What a preference entry stores in the ledger's evidence (besides the proof fields). */
export interface StoredChoice {
  choice: PreferenceChoice;
  /** For a snooze: until when. */
  until?: number;
}

/** A ledger row as the fold needs it. */
export interface PreferenceRow {
  id: number;
  action: string;
  evidence: string;
  recorded_at: number;
}

/**
 * Folds preference entries (other actions are ignored) in the order they happened into the
 * current preferences. The latest choice of each kind wins.
 */
export function foldPreferences(rows: readonly PreferenceRow[]): Preferences {
  const ordered = rows
    .filter((r) => r.action === PREFERENCE_ACTION)
    .sort((a, b) => a.recorded_at - b.recorded_at || a.id - b.id);
  let snoozedUntil: number | null = null;
  let snooze: Preferences['snooze'] = null;
  let frequency: Frequency = 'any';
  const out = new Set<string>();
  let locale: string | null = null;
  for (const r of ordered) {
    const stored = JSON.parse(r.evidence) as Partial<StoredChoice>;
    const c = stored.choice as Record<string, unknown> | undefined;
    if (!c) continue;
    if (typeof c.snooze === 'number') {
      snoozedUntil = c.snooze === 0 ? null : (stored.until ?? r.recorded_at + c.snooze * DAY);
      snooze = c.snooze === 0 ? null : { days: c.snooze, at: r.recorded_at };
    } else if (typeof c.frequency === 'string' && (FREQUENCIES as readonly string[]).includes(c.frequency))
      frequency = c.frequency as Frequency;
    else if (typeof c.topic === 'string') {
      if (c.subscribed) out.delete(c.topic);
      else out.add(c.topic);
    } else if (typeof c.locale === 'string') locale = c.locale;
  }
  return { snoozedUntil, snooze, frequency, topicsOut: [...out].sort(), locale };
}

/** The gate's answer for one mail. */
export type GateDecision =
  { kind: 'allow' } | { kind: 'defer'; until: number } | { kind: 'block'; reason: 'topic_opt_out' };

/**
 * The preference rule for one marketing mail about to be sent at `at`: a topic the customer left
 * blocks it (its sequence stops); a snooze defers it to the snooze's end; a frequency choice
 * defers it until one window after the last mail to the address (`recentMailTimes`: when mails
 * were reserved for the address, across all sequences). Deferring never drops a mail.
 */
export function preferenceGate(
  prefs: Preferences,
  at: number,
  recentMailTimes: readonly number[],
  topic?: string | null,
): GateDecision {
  if (topic && prefs.topicsOut.includes(topic)) return { kind: 'block', reason: 'topic_opt_out' };
  let until = at;
  if (prefs.snoozedUntil !== null && prefs.snoozedUntil > until) until = prefs.snoozedUntil;
  const window = FREQUENCY_WINDOW[prefs.frequency];
  if (window > 0) {
    const last = Math.max(-Infinity, ...recentMailTimes.filter((t) => t <= until));
    if (last + window > until) until = last + window;
  }
  return until > at ? { kind: 'defer', until } : { kind: 'allow' };
}

/** How far back the gate needs mail times for these preferences (0: not at all). */
export function preferenceWindow(prefs: Iterable<Preferences>): number {
  let w = 0;
  for (const p of prefs) w = Math.max(w, FREQUENCY_WINDOW[p.frequency]);
  return w;
}

/** The proof stored with a choice or an unsubscribe: never the IP or user agent themselves. */
export interface ChoiceEvidence {
  /** The message whose link was used, if any. */
  messageId?: number;
  /** HMAC-SHA256 (engine secret) of the IP address, hex; the same IP gives the same hash. */
  ipHash?: string;
  /** HMAC-SHA256 (engine secret) of the user agent, hex. */
  userAgentHash?: string;
  /** Which door: `page`, `one_click`, `api`, `library`. */
  via: string;
}

/** A keyed hash of a piece of request data (IP, user agent): provable when shown, unreadable when leaked. */
export function keyedHash(secret: string | readonly string[], value: string): string {
  const key = typeof secret === 'string' ? secret : secret[0]!;
  return createHmac('sha256', key).update(value).digest('hex');
}

/** The evidence of a request: the message, the keyed hashes of IP and user agent. */
export function requestEvidence(
  secret: string | readonly string[],
  via: string,
  req: { ip?: string; userAgent?: string; messageId?: number },
): ChoiceEvidence {
  return {
    via,
    ...(req.messageId !== undefined ? { messageId: req.messageId } : {}),
    ...(req.ip ? { ipHash: keyedHash(secret, req.ip) } : {}),
    ...(req.userAgent ? { userAgentHash: keyedHash(secret, req.userAgent) } : {}),
  };
}

/** One line for people: `snoozed until 2026-08-30; at most one a month; topics left: news; language de`. */
export function describePreferences(p: Preferences): string {
  const parts: string[] = [];
  if (p.snoozedUntil !== null) parts.push(`snoozed until ${new Date(p.snoozedUntil).toISOString().slice(0, 10)}`);
  if (p.frequency !== 'any') parts.push(`at most one a ${p.frequency === 'weekly' ? 'week' : 'month'}`);
  if (p.topicsOut.length) parts.push(`topics left: ${p.topicsOut.join(', ')}`);
  if (p.locale) parts.push(`language ${p.locale}`);
  return parts.join('; ') || 'none';
}

/** The choice a preference entry's evidence holds, for people: `snooze 90 d`, `topic news off`. */
export function describeChoice(evidence: Record<string, unknown>): string {
  const c = (evidence.choice ?? {}) as Record<string, unknown>;
  if (typeof c.snooze === 'number') return c.snooze === 0 ? 'snooze ended' : `snooze ${c.snooze} d`;
  if (typeof c.frequency === 'string') return `frequency ${c.frequency}`;
  if (typeof c.topic === 'string') return `topic ${c.topic} ${c.subscribed ? 'on' : 'off'}`;
  if (typeof c.locale === 'string') return `language ${c.locale}`;
  return 'preference';
}
