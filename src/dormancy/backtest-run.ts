/**
 * The backtest of a shop's own data: one streaming pass over the customers (the scoring run's
 * reader), a seeded sample of at most `maxBacktestCustomers` customers' purchase days, then
 * {@link backtest} over rolling cut-offs. The one function behind `comeback score --backtest`,
 * `engine.backtest()` and the dashboard's backtest section.
 */
import { backtest, type BacktestResult } from './backtest.js';
import { collectSummaries } from './collect.js';
import { parseScoringSettings, type ScoringSettingsInput } from './config.js';
import { ScoringError } from './errors.js';
import { openSqliteDirect } from './sqlite-direct.js';
import { openPostgresDirect } from './pg-direct.js';
import { dayIndex } from './rhythm.js';
import { kyselySource } from './source.js';
import type { ScoringDeps } from './run.js';

/** Options of a shop backtest. */
export interface BacktestShopOptions extends ScoringSettingsInput {
  /** The end of the data (default: the engine clock): the last cut-off's outcomes end here. */
  now?: number;
  /** Horizon in days (default: the `returnHorizonDays` setting, 90). */
  horizonDays?: number;
  /** At most this many cut-offs (default 4). */
  maxOrigins?: number;
}

/** A shop backtest: the figures, plus what was read. */
export interface ShopBacktest extends BacktestResult {
  asOf: string;
  /** Customers with orders in the sample (of all customers read). */
  sampled: number;
  customersRead: number;
}

/** Runs the backtest on the shop's database. Throws ScoringError when the history is too short. */
export async function backtestShop(deps: ScoringDeps, options: BacktestShopOptions = {}): Promise<ShopBacktest> {
  const { now: nowOption, horizonDays, maxOrigins, ...input } = options;
  const settings = parseScoringSettings(input);
  const now = nowOption ?? deps.clock.now();
  if (!Number.isFinite(now) || now < 0) throw new ScoringError(`backtest end must be a timestamp, got ${now}`);
  const horizon = horizonDays ?? settings.returnHorizonDays;
  if (!Number.isInteger(horizon) || horizon < 1 || horizon > 3650)
    throw new ScoringError(`backtest horizon: expected whole days from 1 to 3650, got ${horizon}`);
  const direct = deps.db.dialect === 'sqlite' ? await openSqliteDirect(deps.db.kysely) : null;
  const pgDirect = deps.db.dialect === 'postgres' && deps.db.pool ? await openPostgresDirect(deps.db.pool) : null;
  try {
    const source = direct?.source ?? pgDirect?.source ?? kyselySource(deps.db.kysely);
    const collected = await collectSummaries(source, now, settings.pageSize, undefined, {
      max: settings.maxBacktestCustomers,
      seed: settings.seed,
    });
    const result = backtest(collected.sample, {
      endDay: dayIndex(now),
      horizon,
      maxOrigins,
      defaultInterval: settings.defaultIntervalDays,
    });
    return {
      ...result,
      asOf: new Date(now).toISOString(),
      sampled: collected.sample.length,
      customersRead: collected.store.length,
    };
  } finally {
    direct?.close();
    await pgDirect?.close();
  }
}
