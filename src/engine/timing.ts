import { MINUTE } from '../clock.js';
import type { SendWindow } from '../sequences/schema.js';

// eslint-disable-next-line @typescript-eslint/no-unused-vars -- the weekday names as a type (`typeof WEEKDAYS`)
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
const formatters = new Map<string, Intl.DateTimeFormat>();

function localParts(t: number, timeZone: string): { day: string; minutes: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  let day = '';
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(t)) {
    if (p.type === 'weekday') day = p.value.slice(0, 3).toLowerCase();
    else if (p.type === 'hour') hour = Number(p.value);
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minutes: hour * 60 + minute };
}

function inWindow(t: number, window: SendWindow, timeZone: string): boolean {
  const { day, minutes } = localParts(t, timeZone);
  if (window.days && !window.days.includes(day as (typeof WEEKDAYS)[number])) return false;
  if (window.hours) {
    const [from, to] = window.hours.split('-').map((hm) => {
      const [h, m] = hm.split(':').map(Number);
      return h! * 60 + m!;
    });
    if (minutes < from! || minutes >= to!) return false;
  }
  return true;
}

/**
 * The first moment at or after `now` inside the send window, in the given time zone, to the
 * quarter hour. Evaluated on real instants through Intl, so DST changes are handled by the
 * time-zone database rather than by arithmetic on local times.
 */
export function nextInWindow(now: number, window: SendWindow | undefined, customerTimeZone: string): number {
  if (!window) return now;
  const tz = window.timezone === 'customer' ? customerTimeZone : window.timezone;
  if (inWindow(now, window, tz)) return now;
  let t = Math.ceil(now / (15 * MINUTE)) * 15 * MINUTE;
  for (let i = 0; i < 8 * 24 * 4; i++, t += 15 * MINUTE) {
    if (inWindow(t, window, tz)) return t;
  }
  return now; // an empty window cannot be validated away here; send rather than hold forever
}

/** The local hour (0–23) of an instant in a time zone. */
export function localHour(t: number, timeZone: string): number {
  return Math.floor(localParts(t, timeZone).minutes / 60);
}

/**
 * The customer's usual opening hour (0–23, local), from the times of their human opens: the
 * hour with the most opens, neighbouring hours counting half (so 9:50 and 10:05 agree).
 * Undefined with fewer than `minOpens` opens (or `minOpens` 0: the feature is off).
 */
export function preferredHour(openTimes: readonly number[], timeZone: string, minOpens: number): number | undefined {
  if (minOpens <= 0 || openTimes.length < minOpens) return undefined;
  const counts = new Array<number>(24).fill(0);
  for (const t of openTimes) counts[localHour(t, timeZone)]!++;
  let best = 0;
  let bestScore = -1;
  for (let h = 0; h < 24; h++) {
    const score = 2 * counts[h]! + counts[(h + 23) % 24]! + counts[(h + 1) % 24]!;
    if (score > bestScore) [best, bestScore] = [h, score];
  }
  return best;
}

/**
 * The first moment at or after `now` whose local hour is `hour`: `now` when already inside that
 * hour, else the start of the next one (on a quarter-hour grid, so zones offset by :30 or :45
 * work). An hour skipped by a DST change moves to the next day that has it.
 */
export function nextAtHour(now: number, hour: number, timeZone: string): number {
  if (localHour(now, timeZone) === hour) return now;
  let t = Math.ceil(now / (15 * MINUTE)) * 15 * MINUTE;
  for (let i = 0; i < 3 * 24 * 4; i++, t += 15 * MINUTE) {
    if (localHour(t, timeZone) === hour) return t;
  }
  return now;
}
