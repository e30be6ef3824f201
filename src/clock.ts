/**
 * Time source. Everything that asks "what time is it" goes through a Clock, so tests,
 * the demo and `simulate` can run days of schedule in seconds on a manual clock.
 */

/** A source of the current time in UTC milliseconds. */
export interface Clock {
  now(): number;
}

/** The real wall clock. */
export const systemClock: Clock = { now: () => Date.now() };

/** A clock that only moves when told to. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.t = typeof start === 'number' ? start : start.getTime();
  }
  now(): number {
    return this.t;
  }
  /** Sets the time; moving backwards is refused because schedules assume monotonic time. */
  set(t: number | Date): void {
    const next = Math.round(typeof t === 'number' ? t : t.getTime());
    if (next < this.t) throw new RangeError('ManualClock cannot move backwards');
    this.t = next;
  }
  /** Moves the clock forward by `ms` milliseconds. */
  advance(ms: number): void {
    this.set(this.t + ms);
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;
