/**
 * `p_return` in a scoring run: the shop's own backtest on a sample picks the score and the
 * recalibration (one cut-off, one horizon before now, calibrated on the windows before it), then
 * the winner's logistic map is refitted the chosen way on the windows before now and applied to
 * every customer as of now.
 */
import type { Decile } from './calibrate.js';
import {
  evaluateOriginMethods,
  featuresAt,
  firstPurchaseDay,
  fitSignalModels,
  predictSignals,
  pickWinner,
  type Calibrations,
  type CutoffFeatures,
  type DayHistory,
  type SignalModels,
  type SignalName,
} from './backtest.js';
import { chooseRecalibration } from './backtest-choice.js';
import type { BgNbdParams } from './model/index.js';
import {
  fitCalibrations,
  RECALIBRATIONS,
  trainingWindows,
  windowsNeeded,
  type RecalibrationName,
  type TrainingWindow,
} from './recalibrate.js';

/** What a run needs to give every customer a `p_return`. */
export interface ReturnModel {
  method: SignalName;
  horizon: number;
  calibrations: Calibrations;
  models: SignalModels;
  /** The backtest that picked the method, as stored in `score_runs.return_backtest`. */
  summary: ReturnBacktestSummary;
}

/** The figures behind the choice. */
export interface ReturnBacktestSummary {
  horizonDays: number;
  cutoff: string;
  customers: number;
  method: SignalName;
  /** The recalibration chosen by this backtest (lowest log-loss of each method's winner), and each method's log-loss. */
  recalibration: RecalibrationName;
  logLoss: Partial<Record<RecalibrationName, number>>;
  auc: Partial<Record<SignalName, number>>;
  maxCalibrationGapPp: Partial<Record<SignalName, number>>;
  /** Share of the customers the rhythm rule flags (overdue ratio ≥ 1.5) who bought again anyway, by the score's own flag. */
  flaggedCameBack: Partial<Record<SignalName, number>>;
  /** Share of all customers at the cut-off who bought again within the horizon. */
  returnedShare: number;
  /** Calibration by decile per score. */
  deciles: Partial<Record<SignalName, Decile[]>>;
  notes: string[];
}

const iso = (day: number): string => new Date(day * 86_400_000).toISOString().slice(0, 10);

/**
 * Picks and calibrates `p_return` on a sample of day histories. Returns a reason instead when the
 * history is too short (it needs three horizons of orders) or has too few customers.
 */
export function fitReturnModel(
  sample: readonly DayHistory[],
  nowDay: number,
  horizon: number,
  bgNow: BgNbdParams | null,
  defaultInterval: number,
): ReturnModel | { reason: string } {
  const evaluated = evaluateOriginMethods(sample, nowDay - horizon, horizon, defaultInterval, RECALIBRATIONS);
  if (!evaluated) {
    return {
      reason: `no p_return: the backtest needs orders over 3 × ${horizon} days and at least 30 customers with both outcomes at each cut-off (comeback score --backtest says more)`,
    };
  }
  const choice = chooseRecalibration(new Map([...evaluated.results].map(([m, r]) => [m, [r]])));
  const recalibration = choice.method;
  const logLoss = Object.fromEntries(Object.entries(choice.candidates).map(([m, c]) => [m, c.pooledLogLoss]));
  const evaluation = evaluated.results.get(recalibration)!;
  const auc: ReturnBacktestSummary['auc'] = {};
  const gap: ReturnBacktestSummary['maxCalibrationGapPp'] = {};
  const cameBack: ReturnBacktestSummary['flaggedCameBack'] = {};
  const deciles: ReturnBacktestSummary['deciles'] = {};
  for (const [s, r] of Object.entries(evaluation.signals) as [
    SignalName,
    NonNullable<(typeof evaluation.signals)[SignalName]>,
  ][]) {
    auc[s] = r.auc;
    gap[s] = r.maxCalibrationGapPp;
    cameBack[s] = r.flaggedCameBack;
    deciles[s] = r.deciles;
  }
  // The latest complete horizon is the evaluation's judged cut-off: its set and models are reused,
  // as are the evaluation's own windows where they coincide with the windows before now.
  // Without the run's own BG/NBD fit, the BG/NBD scores cannot be applied now: leave them out.
  const known = new Map<number, Pick<TrainingWindow, 'set' | 'models'>>(
    evaluated.windows.map((w) => [w.set.cutoff, w]),
  );
  known.set(evaluated.test.cutoff, { set: evaluated.test, models: evaluated.models });
  const windows = trainingWindows(
    sample,
    nowDay,
    horizon,
    firstPurchaseDay(sample),
    defaultInterval,
    windowsNeeded([recalibration]),
    known,
  );
  const calibrations = fitCalibrations(windows, recalibration, bgNow !== null);
  const method = pickWinner(
    Object.fromEntries(Object.entries(auc).filter(([s]) => calibrations.available.includes(s as SignalName))),
  );
  const now = featuresAt(sample, nowDay, horizon);
  const models = fitSignalModels(now.rows, horizon, defaultInterval, bgNow);
  const summary: ReturnBacktestSummary = {
    horizonDays: horizon,
    cutoff: iso(nowDay - horizon),
    customers: evaluation.customers,
    method,
    recalibration,
    logLoss,
    auc,
    maxCalibrationGapPp: gap,
    flaggedCameBack: cameBack,
    returnedShare: evaluation.returnedShare,
    deciles,
    notes: [...new Set([...evaluation.notes, ...models.notes])],
  };
  return { method, horizon, calibrations, models, summary };
}

/** One customer's `p_return` as of now; `known` passes BG/NBD values the run already has. */
export function predictReturn(m: ReturnModel, f: CutoffFeatures, known?: { pAlive: number; expected: number }): number {
  return predictSignals(m.calibrations, m.models, f, m.method, known)[m.method]!;
}
