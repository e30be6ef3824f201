/**
 * The candidate scores of the backtest and what they share: the features of a customer at a
 * cut-off, the models fitted on them, the raw signals and their calibrated probabilities.
 */
import { predictLogistic, type Logistic } from './calibrate.js';
import { bgNbdExpectedPurchases, bgNbdPAlive, fitBgNbd, type BgNbdParams } from './model/index.js';
import { fitRegularity, regularityPredict, type RegularityParams } from './regularity.js';

/** A customer's distinct purchase days (UTC day numbers, ascending). */
export interface DayHistory {
  id: number;
  days: Int32Array;
}

/** Customers needed at a cut-off to judge anything. */
export const MIN_BACKTEST_CUSTOMERS = 30;

/** The candidate scores, in the order they are reported. */
export const SIGNALS = [
  'recency',
  'rhythm',
  'bg_p_alive',
  'bg_expected',
  'bg_p_buy',
  'regularity',
  'combined',
] as const;

/** Scores that are already probabilities of buying within the horizon under their model: used as they are, not recalibrated. */
export const MODEL_PROBABILITIES: readonly SignalName[] = ['bg_p_buy'];
/** One candidate score. */
export type SignalName = (typeof SIGNALS)[number];

/** What every score needs of a customer at a cut-off day, in days. */
export interface CutoffFeatures {
  id: number;
  /** Repeat purchase days. */
  x: number;
  /** First to last purchase day. */
  recency: number;
  /** First purchase day to the cut-off. */
  T: number;
  /** Last purchase day to the cut-off. */
  sinceLast: number;
  sumLogInterval: number;
}

/** Customers who had bought by a cut-off, with what they did in the horizon after it. */
export interface CutoffSet {
  cutoff: number;
  rows: CutoffFeatures[];
  /** 1 when the customer bought again within the horizon. */
  y: Uint8Array;
  /** Purchase days within the horizon. */
  purchases: Float64Array;
}

/** Features at cut-off day `c` (purchases on days ≤ c) and outcomes in (c, c + horizon]. */
export function featuresAt(histories: readonly DayHistory[], c: number, horizon: number): CutoffSet {
  const rows: CutoffFeatures[] = [];
  const y: number[] = [];
  const purchases: number[] = [];
  for (const h of histories) {
    const d = h.days;
    if (d.length === 0 || d[0]! > c) continue;
    let m = 1;
    let sumLog = 0;
    while (m < d.length && d[m]! <= c) {
      sumLog += Math.log(d[m]! - d[m - 1]!);
      m++;
    }
    let later = 0;
    for (let j = m; j < d.length && d[j]! <= c + horizon; j++) later++;
    rows.push({
      id: h.id,
      x: m - 1,
      recency: d[m - 1]! - d[0]!,
      T: c - d[0]!,
      sinceLast: c - d[m - 1]!,
      sumLogInterval: sumLog,
    });
    y.push(later > 0 ? 1 : 0);
    purchases.push(later);
  }
  return { cutoff: c, rows, y: Uint8Array.from(y), purchases: Float64Array.from(purchases) };
}

/** The models the scores need, fitted on the customers at one cut-off. */
export interface SignalModels {
  horizon: number;
  /** The shop's usual interval: median own interval of customers with 3+ purchase days. */
  priorInterval: number;
  bg: BgNbdParams | null;
  regularity: RegularityParams;
  notes: string[];
}

/** The usual interval of a customer (the one rhythm): own mean interval between purchase days, else the prior. */
export function usualInterval(f: Pick<CutoffFeatures, 'x' | 'recency'>, prior: number): number {
  return f.x >= 1 && f.recency > 0 ? f.recency / f.x : prior;
}

/** Fits the prior interval, BG/NBD and the regularity model on the customers at a cut-off. */
export function fitSignalModels(
  rows: readonly CutoffFeatures[],
  horizon: number,
  defaultInterval = 30,
  bg?: BgNbdParams | null,
): SignalModels {
  const notes: string[] = [];
  const trusted = rows
    .filter((f) => f.x >= 2)
    .map((f) => f.recency / f.x)
    .sort((a, b) => a - b);
  const anyRepeat =
    trusted.length > 0
      ? trusted
      : rows
          .filter((f) => f.x >= 1)
          .map((f) => f.recency / f.x)
          .sort((a, b) => a - b);
  const prior = anyRepeat.length > 0 ? anyRepeat[anyRepeat.length >> 1]! : defaultInterval;
  let model: BgNbdParams | null = bg ?? null;
  if (bg === undefined) {
    try {
      const fit = fitBgNbd(rows.map((f) => ({ frequency: f.x, recency: f.recency, T: f.T })));
      model = [fit.r, fit.alpha, fit.a, fit.b].every((v) => Number.isFinite(v) && v > 0) ? fit : null;
    } catch (err) {
      notes.push(`BG/NBD not fitted: ${(err as Error).message}`);
    }
  }
  const regularity = fitRegularity(
    rows.map((f) => ({ x: f.x, sumInterval: f.recency, sumLogInterval: f.sumLogInterval, sinceLast: f.sinceLast })),
    prior,
  );
  if (!regularity.converged) notes.push('regularity drop-out fit did not converge');
  if (regularity.atBoundary)
    notes.push(
      `regularity drop-out fit at the edge of its range (a ${regularity.a.toPrecision(3)}, b ${regularity.b.toPrecision(3)})`,
    );
  return { horizon, priorInterval: Math.max(1, prior), bg: model, regularity, notes };
}

/**
 * BG/NBD probability of at least one purchase within `t`: alive, and the Poisson process with the
 * posterior rate Gamma(r + x, α + T) fires: P(alive) · (1 − ((α + T) / (α + T + t))^(r + x)).
 * (A customer only drops out right after a purchase, so an alive customer's first purchase is not cut short.)
 */
export function bgNbdProbabilityToBuy(
  p: BgNbdParams,
  h: { frequency: number; recency: number; T: number },
  t: number,
  pAlive?: number,
): number {
  const alive = pAlive ?? bgNbdPAlive(p, h);
  return alive * -Math.expm1((p.r + h.frequency) * Math.log((p.alpha + h.T) / (p.alpha + h.T + t)));
}

const clamp = (p: number): number => Math.min(1 - 1e-9, Math.max(1e-9, p));
const logit = (p: number): number => Math.log(clamp(p) / (1 - clamp(p)));

/** The raw value of every score for one customer (NaN where a model is missing). */
export function rawSignals(
  m: SignalModels,
  f: CutoffFeatures,
  only?: SignalName,
  known?: { pAlive: number; expected: number },
): Record<Exclude<SignalName, 'combined'>, number> {
  // `only`: the one score needed (a scoring run computes just the winner's inputs).
  const need = (s: SignalName) => only === undefined || only === 'combined' || only === s;
  const h = { frequency: f.x, recency: f.recency, T: f.T };
  const regInput = { x: f.x, sumInterval: f.recency, sumLogInterval: f.sumLogInterval, sinceLast: f.sinceLast };
  return {
    recency: f.sinceLast,
    rhythm: f.sinceLast / usualInterval(f, m.priorInterval),
    bg_p_alive: !m.bg || !need('bg_p_alive') ? NaN : known ? known.pAlive : bgNbdPAlive(m.bg, h),
    bg_expected:
      !m.bg || !need('bg_expected') ? NaN : known ? known.expected : bgNbdExpectedPurchases(m.bg, m.horizon, h),
    bg_p_buy: !m.bg || !need('bg_p_buy') ? NaN : bgNbdProbabilityToBuy(m.bg, h, m.horizon, known?.pAlive),
    regularity: need('regularity') ? regularityPredict(m.regularity, regInput, m.horizon).pReturn : NaN,
  };
}

/**
 * The features of the logistic map of each score (monotone in the raw score, so its ranking is
 * kept). The combination's also has ln(1 + repeat purchases) and, with `customerAge`,
 * ln(1 + days since the first purchase).
 */
export function signalFeatures(
  name: SignalName,
  r: ReturnType<typeof rawSignals>,
  f: CutoffFeatures,
  available: readonly SignalName[],
  customerAge = false,
): number[] {
  switch (name) {
    case 'recency':
      return [Math.log1p(r.recency)];
    case 'rhythm':
      return [Math.log(r.rhythm + 0.01)];
    case 'bg_p_alive':
      return [logit(r.bg_p_alive)];
    case 'bg_expected':
      return [Math.log(r.bg_expected + 1e-6)];
    case 'bg_p_buy':
      return [logit(r.bg_p_buy)];
    case 'regularity':
      return [logit(r.regularity)];
    case 'combined':
      return [
        ...available
          .filter((s) => s !== 'combined' && !MODEL_PROBABILITIES.includes(s))
          .flatMap((s) => signalFeatures(s, r, f, available)),
        Math.log1p(f.x),
        ...(customerAge ? [Math.log1p(f.T)] : []),
      ];
  }
}

/** The logistic maps from scores to probabilities, fitted on one cut-off's outcomes. */
export interface Calibrations {
  available: SignalName[];
  maps: Partial<Record<SignalName, Logistic>>;
  /** The combination's map has the customer's age as a feature. */
  customerAge?: boolean;
}

/** Every available score of one customer as a probability of buying again within the horizon. */
export function predictSignals(
  cal: Calibrations,
  models: SignalModels,
  f: CutoffFeatures,
  only?: SignalName,
  known?: { pAlive: number; expected: number },
  raw?: ReturnType<typeof rawSignals>,
): Partial<Record<SignalName, number>> {
  // `raw`: the customer's raw scores when already computed (one judged set, several maps).
  const r = raw ?? rawSignals(models, f, only, known);
  const out: Partial<Record<SignalName, number>> = {};
  for (const s of cal.available) {
    if (only !== undefined && s !== only) continue;
    out[s] = MODEL_PROBABILITIES.includes(s)
      ? r[s as Exclude<SignalName, 'combined'>]
      : predictLogistic(cal.maps[s]!, signalFeatures(s, r, f, cal.available, cal.customerAge));
  }
  return out;
}

/** The score with the highest mean AUC; BG/NBD E[Y] wins ties (the established model). */
export function pickWinner(meanAuc: Partial<Record<SignalName, number>>): SignalName {
  let best: SignalName = meanAuc.bg_expected !== undefined ? 'bg_expected' : 'recency';
  for (const s of SIGNALS) if ((meanAuc[s] ?? -1) > (meanAuc[best] ?? -1) + 1e-9) best = s;
  return best;
}
