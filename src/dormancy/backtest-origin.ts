/**
 * One cut-off of the backtest: the training windows before it and the models at it fitted once,
 * every score turned into a probability by each recalibration asked for, and judged on the
 * outcomes in the horizon after the cut-off (AUC, Brier score, calibration by decile, flagged who
 * came back), with the raw predictions kept so that every figure can be checked.
 */
import { auc, calibrationDeciles, type Decile, type Logistic } from './calibrate.js';
import {
  featuresAt,
  fitSignalModels,
  MIN_BACKTEST_CUSTOMERS,
  predictSignals,
  usualInterval,
  type rawSignals,
  type Calibrations,
  type CutoffSet,
  type DayHistory,
  type SignalModels,
  type SignalName,
} from './backtest-signals.js';

export { MIN_BACKTEST_CUSTOMERS };
import {
  fitCalibrations,
  rawsOf,
  trainingWindows,
  usableSet,
  windowsNeeded,
  type RecalibrationName,
  type TrainingWindow,
} from './recalibrate.js';

/** How one score did at one cut-off. */
export interface SignalResult {
  auc: number;
  /** AUC among customers with a repeat purchase by the cut-off. */
  aucRepeat: number;
  brier: number;
  /** Largest |predicted − actual| over the deciles, percentage points. */
  maxCalibrationGapPp: number;
  deciles: Decile[];
  /** Customers flagged: as many as the rhythm rule flags (overdue ratio ≥ 1.5), the lowest by this score. */
  flagged: number;
  /** Share of the flagged who bought again within the horizon anyway. */
  flaggedCameBack: number;
}

/** One cut-off of the backtest. */
export interface OriginResult {
  cutoffDay: number;
  trainCutoffDay: number;
  customers: number;
  returnedShare: number;
  signals: Partial<Record<SignalName, SignalResult>>;
  notes: string[];
  /** The raw predictions, so that every figure can be checked. */
  predictions: {
    ids: number[];
    outcome: number[];
    purchases: number[];
    repeat: number[];
    p: Partial<Record<SignalName, number[]>>;
  };
}

/**
 * Calibrates on the windows before `c` (one method, default `latest`: the window at c − horizon),
 * judges at `c`. Null when either side has too few customers or one outcome only.
 */
export function evaluateOrigin(
  histories: readonly DayHistory[],
  c: number,
  horizon: number,
  defaultInterval = 30,
  method: RecalibrationName = 'latest',
): OriginResult | null {
  return evaluateOriginMethods(histories, c, horizon, defaultInterval, [method])?.results.get(method) ?? null;
}

/** One cut-off judged by several methods, with the set, models and windows a scoring run reuses. */
export interface OriginEvaluation {
  results: Map<RecalibrationName, OriginResult>;
  test: CutoffSet;
  models: SignalModels;
  windows: TrainingWindow[];
}

/** The first purchase day of any customer (Infinity without any). */
export function firstPurchaseDay(histories: readonly DayHistory[]): number {
  let first = Infinity;
  for (const x of histories) if (x.days.length > 0) first = Math.min(first, x.days[0]!);
  return first;
}

/**
 * Judges cut-off `c` once per recalibration method: the training windows before it and the
 * models at `c` are fitted once and shared. Null when the latest window or the judged set has too
 * few customers or one outcome only.
 */
export function evaluateOriginMethods(
  histories: readonly DayHistory[],
  c: number,
  horizon: number,
  defaultInterval: number,
  methods: readonly RecalibrationName[],
): OriginEvaluation | null {
  const first = firstPurchaseDay(histories);
  const windows = trainingWindows(histories, c, horizon, first, defaultInterval, windowsNeeded(methods));
  const test = featuresAt(histories, c, horizon);
  if (windows.length === 0 || !usableSet(test)) return null;
  const models = fitSignalModels(test.rows, horizon, defaultInterval);
  const notes = [...new Set([...windows[0]!.models.notes, ...models.notes])];
  const results = new Map<RecalibrationName, OriginResult>();
  const memo = new Map<string, Logistic>();
  const raws = rawsOf({ set: test, models });
  for (const m of methods) {
    const cal = fitCalibrations(windows, m, true, memo);
    if (windows[0]!.models.bg && !models.bg) cal.available = cal.available.filter((s) => !s.startsWith('bg_'));
    results.set(m, judgeOrigin(cal, test, models, horizon, notes, raws));
  }
  return { results, test, models, windows };
}

/** Every available score of the judged set as a probability, and how it did. */
function judgeOrigin(
  cal: Calibrations,
  test: CutoffSet,
  models: SignalModels,
  horizon: number,
  notes: string[],
  raws: readonly ReturnType<typeof rawSignals>[],
): OriginResult {
  const c = test.cutoff;
  const n = test.rows.length;
  const p: OriginResult['predictions']['p'] = {};
  for (const s of cal.available) p[s] = new Array<number>(n);
  const expected = new Float64Array(n);
  const ratio = new Float64Array(n);
  test.rows.forEach((f, i) => {
    const pr = predictSignals(cal, models, f, undefined, undefined, raws[i]);
    for (const s of cal.available) p[s]![i] = pr[s]!;
    expected[i] = models.bg ? raws[i]!.bg_expected : NaN;
    ratio[i] = f.sinceLast / usualInterval(f, models.priorInterval);
  });
  const flagged = ratio.filter((r) => r >= 1.5).length;
  const repeatIdx = test.rows.flatMap((f, i) => (f.x >= 1 ? [i] : []));
  const signals: OriginResult['signals'] = {};
  for (const s of cal.available) {
    const ps = p[s]!;
    const deciles = calibrationDeciles(ps, test.y, test.purchases, expected);
    const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => ps[i]! - ps[j]!);
    let back = 0;
    for (let k = 0; k < flagged; k++) back += test.y[order[k]!]!;
    let brier = 0;
    for (let i = 0; i < n; i++) brier += (ps[i]! - test.y[i]!) ** 2 / n;
    signals[s] = {
      auc: auc(ps, test.y),
      aucRepeat: auc(
        repeatIdx.map((i) => ps[i]!),
        repeatIdx.map((i) => test.y[i]!),
      ),
      brier,
      maxCalibrationGapPp: 100 * Math.max(...deciles.map((d) => Math.abs(d.predicted - d.actual))),
      deciles,
      flagged,
      flaggedCameBack: flagged > 0 ? back / flagged : NaN,
    };
  }
  return {
    cutoffDay: c,
    trainCutoffDay: c - horizon,
    customers: n,
    returnedShare: test.y.reduce((a, v) => a + v, 0) / n,
    signals,
    notes,
    predictions: {
      ids: test.rows.map((f) => f.id),
      outcome: [...test.y],
      purchases: [...test.purchases],
      repeat: test.rows.map((f) => (f.x >= 1 ? 1 : 0)),
      p,
    },
  };
}
