/**
 * The forecast beside the flow: `comeback simulate` of the edited sequence over the customers of
 * the real database for the next 30 days (read-only, nothing is sent), summed up for the picture.
 */
import { HOUR } from '../clock.js';
import type { Engine } from '../engine/engine.js';
import type { Sequence } from '../sequences/schema.js';
import { DEFAULT_ASSUMPTIONS, describeAssumptions, simulate } from '../simulate/index.js';
import { currencyDigits } from '../util/money.js';

/** Days the studio forecasts. */
export const FORECAST_DAYS = 30;

/** The forecast of one sequence. */
export interface Forecast {
  sequenceId: string;
  version: number;
  start: string;
  days: number;
  /** Customers who would enter (mailed and holdout), and of them the holdout. */
  entered: number;
  holdout: number;
  /** Mails per step over the whole period. */
  perStep: { stepId: string; sent: number }[];
  /** Mails per day, day 1 first. */
  mailsPerDay: { date: string; mails: number }[];
  /** Mails that had to wait for the frequency cap, and for the send window. */
  capDeferrals: number;
  windowDeferrals: number;
  /** Customers kept out by consent at entry or at sending. */
  consentBlocked: number;
  goals: number;
  assumptions: string;
}

/** Simulates the sequence against the engine's database from the start of the current hour. */
export async function forecast(engine: Engine, seq: Sequence, days = FORECAST_DAYS): Promise<Forecast> {
  const start = Math.floor(engine.ctx.clock.now() / HOUR) * HOUR;
  const result = await simulate(engine.ctx.k, seq, {
    start,
    days,
    tickMs: HOUR,
    assumptions: DEFAULT_ASSUMPTIONS,
    currencyDigits: currencyDigits(engine.ctx.config.defaults.currency),
    // As the worker runs: its preferred-hour threshold, cohort-share floor and the control group.
    preferredHourMinOpens: engine.ctx.config.worker.preferredHourMinOpens,
    minExplorationShare: engine.ctx.config.guard.minExplorationShare,
    controlGroup: engine.ctx.config.controlGroup,
  });
  const sum = (f: (r: (typeof result.rows)[number]) => number) => result.rows.reduce((n, r) => n + f(r), 0);
  return {
    sequenceId: seq.id,
    version: seq.version,
    start: new Date(start).toISOString(),
    days,
    entered: sum((r) => r.entered),
    holdout: sum((r) => r.holdout),
    perStep: result.steps.map((stepId) => ({ stepId, sent: sum((r) => r.sent[stepId] ?? 0) })),
    mailsPerDay: result.rows.map((r) => ({ date: r.date, mails: Object.values(r.sent).reduce((a, b) => a + b, 0) })),
    capDeferrals: sum((r) => r.cap),
    windowDeferrals: sum((r) => r.window),
    consentBlocked: sum((r) => r.consent),
    goals: sum((r) => r.goal),
    assumptions: describeAssumptions(DEFAULT_ASSUMPTIONS),
  };
}
