/**
 * Drift-aware recalibration: how the logistic maps from scores to probabilities are fitted on the
 * history before a cut-off. A map fitted on one window only follows that window's noise; maps
 * fitted on several recent windows are steadier but lag a shop whose return rate moves. The
 * candidates (Steyerberg, "Clinical Prediction Models", 2nd ed. 2019, ch. 20 on updating: refit
 * everything, or keep the slopes and re-estimate the intercept, "recalibration-in-the-large"):
 *
 * - `latest`: every coefficient fitted on the latest fully observed window alone (c − h).
 * - `pooled`: fitted on up to four windows c − h, c − h − s, … (s = h / 3), equal weights.
 * - `decayed`: the same windows, weights halving every horizon of age (Cox 1961's exponential
 *   forgetting, as in time-decayed calibration).
 * - `decayed_intercept`: the decayed fit's slopes, the intercept re-estimated on the latest window
 *   alone, so the level follows the shop's latest return rate and the shape rests on more data.
 *
 * Each comes twice: as it is, and with the customer's age (ln(1 + days since the first purchase))
 * as one more feature of the combination (`…_age`). A shop whose customers buy less as they age
 * (one ageing cohort) moves its return rate from window to window; fitted across the windows, the
 * age term carries that drift into the map instead of leaving it to the intercept. The single
 * scores' maps keep their one feature, so their ranking is kept.
 *
 * The backtest measures each on the same cut-offs and keeps the best (see backtest-choice.ts).
 */
import { fitLogistic, type Logistic } from './calibrate.js';
import {
  featuresAt,
  fitSignalModels,
  MIN_BACKTEST_CUSTOMERS,
  MODEL_PROBABILITIES,
  rawSignals,
  signalFeatures,
  SIGNALS,
  type Calibrations,
  type CutoffSet,
  type DayHistory,
  type SignalModels,
} from './backtest-signals.js';

/** The ways of weighing the training windows. */
export const WINDOW_WEIGHTINGS = ['latest', 'pooled', 'decayed', 'decayed_intercept'] as const;
/** One way of weighing the training windows. */
export type WindowWeighting = (typeof WINDOW_WEIGHTINGS)[number];

/** The recalibration methods, the first being the default without a choice (and on a tie). */
export const RECALIBRATIONS = [...WINDOW_WEIGHTINGS, ...WINDOW_WEIGHTINGS.map((w) => `${w}_age` as const)] as const;
/** One recalibration method. */
export type RecalibrationName = (typeof RECALIBRATIONS)[number];

/** A method's weighting of the windows, and whether the combination has the customer's age. */
export function methodParts(method: RecalibrationName): { weighting: WindowWeighting; customerAge: boolean } {
  const customerAge = method.endsWith('_age');
  return { weighting: (customerAge ? method.slice(0, -4) : method) as WindowWeighting, customerAge };
}

/** One fully observed window before a cut-off: features at its start, outcomes one horizon later. */
export interface TrainingWindow {
  set: CutoffSet;
  models: SignalModels;
  /** Days between this window's start and the latest window's. */
  age: number;
}

/** At most this many training windows per cut-off. */
export const MAX_WINDOWS = 4;

/** A set can be fitted on or judged: enough customers, and both outcomes. */
export function usableSet(s: CutoffSet): boolean {
  return s.rows.length >= MIN_BACKTEST_CUSTOMERS && s.y.some((v) => v === 1) && s.y.some((v) => v === 0);
}

/**
 * The fully observed windows before cut-off `c`: starts t = c − h − k·s (s = ⌈h / 3⌉), k = 0, 1, …,
 * while one horizon of history lies before t and the window has both outcomes among 30+
 * customers. Every model is fitted on the history up to the window's start. The latest (k = 0) is
 * always first; an empty list when even it is not usable.
 */
export function trainingWindows(
  histories: readonly DayHistory[],
  c: number,
  horizon: number,
  firstDay: number,
  defaultInterval = 30,
  maxWindows = MAX_WINDOWS,
  known?: ReadonlyMap<number, Pick<TrainingWindow, 'set' | 'models'>>,
): TrainingWindow[] {
  const step = Math.ceil(horizon / 3);
  const out: TrainingWindow[] = [];
  for (let k = 0; k < maxWindows; k++) {
    const t = c - horizon - k * step;
    if (k > 0 && t - horizon < firstDay) break;
    // `known`: windows already fitted (by start day), e.g. the sets a backtest judged.
    const cached = known?.get(t);
    const set = cached?.set ?? featuresAt(histories, t, horizon);
    if (!usableSet(set)) {
      if (k === 0) return [];
      break;
    }
    out.push({ set, models: cached?.models ?? fitSignalModels(set.rows, horizon, defaultInterval), age: k * step });
  }
  return out;
}

/** Windows a method uses: `latest` (with or without age) needs one only. */
export function windowsNeeded(methods: readonly RecalibrationName[]): number {
  return methods.every((m) => methodParts(m).weighting === 'latest') ? 1 : MAX_WINDOWS;
}

/** The weight of a window of `age` days under a method (0: left out). */
export function windowWeight(method: RecalibrationName, age: number, horizon: number): number {
  const { weighting } = methodParts(method);
  if (weighting === 'latest') return age === 0 ? 1 : 0;
  if (weighting === 'pooled') return 1;
  return 0.5 ** (age / horizon);
}

/** Re-estimates only the intercept of a fitted map on new rows (Newton's method on one parameter). */
export function refitIntercept(m: Logistic, features: readonly number[][], y: ArrayLike<number>): Logistic {
  const offsets = features.map((f) => {
    let eta = 0;
    for (let j = 0; j < f.length; j++) eta += (m.weights[j + 1]! * (f[j]! - m.means[j]!)) / m.scales[j]!;
    return eta;
  });
  let w0 = m.weights[0]!;
  let converged = false;
  for (let it = 0; it < 50; it++) {
    let g = 0;
    let hess = 1e-9;
    offsets.forEach((o, i) => {
      const p = 1 / (1 + Math.exp(-(w0 + o)));
      g += y[i]! - p;
      hess += p * (1 - p);
    });
    const step = g / hess;
    w0 += step;
    if (Math.abs(step) < 1e-10) {
      converged = true;
      break;
    }
  }
  return { ...m, weights: [w0, ...m.weights.slice(1)], converged: m.converged && converged };
}

// The raw scores of a window's customers, computed once for all the methods fitted on it (each
// needs the regularity model's and BG/NBD's closed forms per customer: the bulk of a fit's time).
const rawCache = new WeakMap<SignalModels, { set: CutoffSet; raws: ReturnType<typeof rawSignals>[] }>();

/** The raw scores of every customer of a window, cached per window. */
export function rawsOf(w: Pick<TrainingWindow, 'set' | 'models'>): ReturnType<typeof rawSignals>[] {
  const hit = rawCache.get(w.models);
  if (hit && hit.set === w.set) return hit.raws;
  const raws = w.set.rows.map((f) => rawSignals(w.models, f));
  rawCache.set(w.models, { set: w.set, raws });
  return raws;
}

/**
 * Fits every available score's logistic map on the windows, weighted by `method`. The scores
 * available are those of the latest window (a window without a BG/NBD fit is left out when the
 * latest has one); `withBg` false leaves the BG/NBD scores out (a run without its own BG/NBD fit).
 * `memo`: maps already fitted on the same windows (one memo per list of windows), so that several
 * methods share them: `decayed_intercept` starts from `decayed`'s fit, and a method's `…_age`
 * twin differs from it in the combination's map only.
 */
export function fitCalibrations(
  windows: readonly TrainingWindow[],
  method: RecalibrationName,
  withBg = true,
  memo?: Map<string, Logistic>,
): Calibrations {
  const { weighting, customerAge } = methodParts(method);
  const latest = windows[0]!;
  const available = SIGNALS.filter((s) => !(s.startsWith('bg_') && (!latest.models.bg || !withBg)));
  const horizon = latest.models.horizon;
  const used = windows.filter((w) => windowWeight(method, w.age, horizon) > 0 && (w.models.bg || !latest.models.bg));
  const raws = used.map(rawsOf);
  const weights: number[] = [];
  const y: number[] = [];
  used.forEach((w) => {
    const wt = windowWeight(method, w.age, horizon);
    for (const v of w.set.y) {
      weights.push(wt);
      y.push(v);
    }
  });
  const maps: Calibrations['maps'] = {};
  for (const s of available) {
    if (MODEL_PROBABILITIES.includes(s)) continue;
    const weighed = weighting === 'decayed_intercept' ? 'decayed' : weighting;
    const key = `${s} ${weighed} ${s === 'combined' && customerAge ? 'age' : ''} ${available.length}`;
    const featuresOf = (k: number) =>
      used[k]!.set.rows.map((f, i) => signalFeatures(s, raws[k]![i]!, f, available, customerAge));
    let map =
      memo?.get(key) ??
      fitLogistic(
        used.flatMap((_, k) => featuresOf(k)),
        y,
        1e-3,
        weights,
      );
    memo?.set(key, map);
    if (weighting === 'decayed_intercept') map = refitIntercept(map, featuresOf(0), latest.set.y);
    maps[s] = map;
  }
  return { available, maps, customerAge };
}
