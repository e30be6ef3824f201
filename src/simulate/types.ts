/**
 * The shapes of `comeback simulate`: its options, one simulated send, the day-by-day rows and the
 * in-memory enrolment the simulation keeps instead of a database row.
 */
import { DAY } from '../clock.js';
import type { ControlGroupConfig } from '../config/schema.js';
import type { Facts } from '../sequences/machine.js';
import type { Assumptions, SimEvent } from './assumptions.js';

/** Options of a simulation. */
export interface SimulationOptions {
  /** Start of day 1 (epoch ms); the audience is evaluated at this time of day every day. */
  start: number;
  days: number;
  /** How often the simulated worker runs a pass (default one hour). */
  tickMs?: number;
  assumptions?: Assumptions;
  pageSize?: number;
  currencyDigits?: number;
  /** Id of the first simulated enrolment (default: after the highest in the database, as the worker would). */
  firstEnrollmentId?: number;
  /**
   * Human opens a customer needs before follow-ups wait for their usual hour (config
   * `worker.preferredHourMinOpens`; default 3, 0 turns it off).
   */
  preferredHourMinOpens?: number;
  /** Smallest cohort share of an adaptive split (`guard.minExplorationShare`; default 0.05). */
  minExplorationShare?: number;
  /** Variant weights per (sequence, step), as the optimiser would hand them to the worker. */
  weights?: (sequenceId: string, stepId: string) => Map<string | null, number> | undefined;
  /**
   * The global control group (config `controlGroup`): its members enter as the worker enrols them,
   * held out of the sequence. Default: none.
   */
  controlGroup?: Pick<ControlGroupConfig, 'share' | 'rotation'>;
}

/** One mail the simulation would send. */
export interface SimSend {
  enrollmentId: number;
  customerId: number;
  externalId: string;
  stepId: string;
  variantId: string | null;
  template: string;
  branchCase: string | null;
  at: number;
}

/** What happened on one day. */
export interface DayRow {
  day: number;
  date: string;
  entered: number;
  /** Enrolments held out (the sequence's holdout and the global control group) ... */
  holdout: number;
  /** ... of which in the global control group. */
  control: number;
  sent: Record<string, number>;
  /** Steps skipped by their condition. */
  unless: number;
  onlyIf: number;
  /** Mails that had to wait for the send window or the frequency cap (counted once per mail). */
  window: number;
  cap: number;
  /**
   * The customers' own choices on the preference page: kept out at entry or stopped by a topic
   * they left, mails waiting for a snooze or "one a week/month" (counted once per mail).
   */
  preference: number;
  /** Customers kept out by consent at entry, and mails cancelled at sending (unsubscribed meanwhile). */
  consent: number;
  exited: number;
  goal: number;
  holdoutGoal: number;
}

/** The result: the day-by-day table, every send, and the assumptions it rests on. */
export interface SimulationResult {
  sequenceId: string;
  version: number;
  steps: string[];
  rows: DayRow[];
  sends: SimSend[];
  assumptions: Assumptions;
}

/** One enrolment as the simulation keeps it. */
export interface SimEnrollment {
  id: number;
  customerId: number;
  externalId: string;
  timeZone: string;
  /** The customer's address hash: an address is enrolled once at a time and capped as one. */
  emailHash: string | null;
  holdout: boolean;
  currentStep: number;
  /** Path experiments: the cohort drawn at entry, as the engine draws it. */
  cohort: string | null;
  nextDueAt: number | null;
  enrolledAt: number;
  status: 'active' | 'completed' | 'converted' | 'exited';
  churnReason: string | null;
  events: SimEvent[];
  mails: number;
  facts: Facts;
  waited: Set<string>;
}

/** A day with nothing counted yet. */
export const emptyRow = (day: number, start: number, steps: string[]): DayRow => ({
  day: day + 1,
  date: new Date(start + day * DAY).toISOString().slice(0, 10),
  entered: 0,
  holdout: 0,
  control: 0,
  sent: Object.fromEntries(steps.map((s) => [s, 0])),
  unless: 0,
  onlyIf: 0,
  window: 0,
  cap: 0,
  preference: 0,
  consent: 0,
  exited: 0,
  goal: 0,
  holdoutGoal: 0,
});
