/**
 * The backtest: every candidate score fitted on the history up to a cut-off and measured against
 * what happened after it. Candidates: recency, the rhythm's overdue ratio, BG/NBD P(alive) and
 * E[Y], the regularity model, and a logistic combination of them. Each is turned into a
 * probability of buying again within the horizon by a logistic map fitted one horizon earlier
 * (features at C − h, outcomes in (C − h, C]) and judged on the outcomes in (C, C + h]: a
 * time split, so nothing is judged on the data it was fitted on.
 */
import { ScoringError } from './errors.js';
import { pickWinner, SIGNALS, type DayHistory, type SignalName } from './backtest-signals.js';
import { RECALIBRATIONS, type RecalibrationName } from './recalibrate.js';
import { evaluateOriginMethods, MIN_BACKTEST_CUSTOMERS, type OriginResult } from './backtest-origin.js';
import { chooseRecalibration, meanAucOf, pooledOf, type RecalibrationChoice } from './backtest-choice.js';
import type { PooledCalibration } from './pooled-calibration.js';

export * from './backtest-signals.js';
export {
  evaluateOrigin,
  evaluateOriginMethods,
  firstPurchaseDay,
  MIN_BACKTEST_CUSTOMERS,
  type OriginEvaluation,
  type OriginResult,
  type SignalResult,
} from './backtest-origin.js';

/** Options of a backtest. */
export interface BacktestOptions {
  /** Last day of the data used (UTC day number): outcomes are observed up to it. */
  endDay: number;
  horizon: number;
  /** At most this many cut-offs, one horizon apart, the latest first (default 4). */
  maxOrigins?: number;
  defaultInterval?: number;
}

/** The whole backtest: per cut-off results, the mean AUC per score, and the winner. */
export interface BacktestResult {
  horizonDays: number;
  endDay: number;
  customers: number;
  origins: OriginResult[];
  meanAuc: Partial<Record<SignalName, number>>;
  /** The score with the highest mean AUC: the default `p_return`. */
  winner: SignalName;
  /** The recalibration the backtest chose (its figures are `origins`, `meanAuc`, `pooled`), and every candidate's. */
  recalibration: RecalibrationChoice;
  /** Per score, the calibration pooled over the cut-offs, with a 95 % interval per decile. */
  pooled: Partial<Record<SignalName, PooledCalibration>>;
}

/**
 * Runs the backtest over rolling cut-offs: c = end − h, end − 2h, … as long as one horizon of
 * history lies before the training cut-off c − h. Refuses (ScoringError) when no cut-off fits.
 */
export function backtest(histories: readonly DayHistory[], o: BacktestOptions): BacktestResult {
  const h = o.horizon;
  if (!(h >= 1)) throw new ScoringError(`backtest horizon must be at least 1 day, got ${h}`);
  let first = Infinity;
  for (const x of histories) if (x.days.length > 0 && x.days[0]! <= o.endDay) first = Math.min(first, x.days[0]!);
  const span = first === Infinity ? 0 : o.endDay - first;
  const byMethod = new Map<RecalibrationName, OriginResult[]>(RECALIBRATIONS.map((m) => [m, []]));
  for (let k = 1; k <= (o.maxOrigins ?? 4); k++) {
    const c = o.endDay - k * h;
    if (c - h - h < first) break;
    const r = evaluateOriginMethods(histories, c, h, o.defaultInterval ?? 30, RECALIBRATIONS);
    if (r) for (const [m, res] of r.results) byMethod.get(m)!.push(res);
  }
  const origins = byMethod.get('latest')!;
  if (origins.length === 0) {
    throw new ScoringError(
      `history too short for a backtest with a ${h}-day horizon: it needs orders over at least 3 × ${h} = ${3 * h} days (one horizon of history, one to fit the calibration, one to judge) and ${MIN_BACKTEST_CUSTOMERS} customers at each cut-off; the orders span ${span} days. Try a shorter horizon (--horizon ${Math.max(7, Math.floor(span / 3))}d)`,
    );
  }
  const recalibration = chooseRecalibration(byMethod);
  const chosen = byMethod.get(recalibration.method)!;
  const meanAuc = meanAucOf(chosen);
  const pooled: BacktestResult['pooled'] = {};
  for (const s of SIGNALS) {
    const pc = pooledOf(chosen, s);
    if (pc) pooled[s] = pc;
  }
  return {
    horizonDays: h,
    endDay: o.endDay,
    customers: histories.length,
    origins: chosen,
    meanAuc,
    winner: pickWinner(meanAuc),
    recalibration,
    pooled,
  };
}
