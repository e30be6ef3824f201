import { seededRandom } from '../util/random.js';
import type { ScoringSettings } from './config.js';
import { fitBgNbd, fitGammaGamma } from './model/index.js';
import type { SummaryStore } from './store.js';

/** BG/NBD parameters as scoring uses them (time in days). */
export interface BgNbdParameters {
  r: number;
  alpha: number;
  a: number;
  b: number;
  logLikelihood: number;
}

/** Gamma-Gamma parameters as scoring uses them (spend in major units, i.e. minor / 100). */
export interface GammaGammaParameters {
  p: number;
  q: number;
  v: number;
  logLikelihood: number;
}

/** The fitted models of a run, or why there are none. */
export interface FittedModels {
  bg: BgNbdParameters | null;
  gg: GammaGammaParameters | null;
  /** Customers that went into the BG/NBD fit. */
  fitRows: number;
  /** Why a model is missing, if one is, and fit warnings (no convergence, a parameter at a boundary). */
  note: string | null;
  /** Per model: the fit converged, and the parameters at a boundary (empty when none). */
  checks?: {
    bg: { converged: boolean; atBoundary: string[] } | null;
    gg: { converged: boolean; atBoundary: string[] } | null;
  };
}

/** Parameters beyond these bounds mean the likelihood ran off to the edge of the parameter space. */
export const PARAMETER_BOUNDS = { min: 1e-4, max: 1e5 } as const;

/** Parameters of a fit outside {@link PARAMETER_BOUNDS}, as `name=value` texts. */
export function atBoundary(params: Record<string, number>, keys: readonly string[]): string[] {
  return keys
    .filter((k) => !(params[k]! >= PARAMETER_BOUNDS.min && params[k]! <= PARAMETER_BOUNDS.max))
    .map((k) => `${k}=${params[k]!.toPrecision(3)}`);
}

/** The warning of a fit that did not converge or ended at a boundary, or null. */
function fitWarning(model: string, converged: boolean, edge: string[]): string | null {
  const parts: string[] = [];
  if (!converged) parts.push('did not converge');
  if (edge.length > 0)
    parts.push(
      `ended at the edge of the parameter space (${edge.join(', ')}): the data do not identify these parameters, read its values with care`,
    );
  return parts.length > 0 ? `${model} fit ${parts.join(' and ')}` : null;
}

/** Spend is fitted in major units, which keeps the scale parameter v in a comfortable range. */
export const SPEND_SCALE = 100;

function finitePositive(obj: Record<string, number>, keys: string[]): boolean {
  return keys.every((k) => Number.isFinite(obj[k]) && obj[k]! > 0);
}

/** Row indices of the customers with orders, or a seeded uniform sample of at most `max` of them. */
export function sampleIndices(candidates: number[], max: number, seed: number): number[] {
  if (candidates.length <= max) return candidates;
  // Partial Fisher-Yates: the first `max` entries become a uniform sample.
  const rand = seededRandom(seed);
  const a = candidates.slice();
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rand() * (a.length - i));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a.slice(0, max).sort((x, y) => x - y);
}

/**
 * Fits BG/NBD on (frequency, recency, T) in days of every customer with orders (or a seeded
 * sample of `maxFitRows` customers; the fitter aggregates identical rows into weights) and
 * Gamma-Gamma on the repeat customers' mean repeat spend. Too little data or a failed fit gives
 * null parameters and a note, never an exception: the rhythm scores do not depend on the model.
 */
export function fitModels(store: SummaryStore, s: ScoringSettings): FittedModels {
  const { ordersCount, frequency, recency, T, monetaryMinor } = store.cols;
  const withOrders: number[] = [];
  const repeat: number[] = [];
  for (let i = 0; i < store.length; i++) {
    if (ordersCount[i]! < 1) continue;
    withOrders.push(i);
    if (frequency[i]! > 0 && monetaryMinor[i]! > 0) repeat.push(i);
  }
  if (withOrders.length < s.minFitCustomers) {
    return {
      bg: null,
      gg: null,
      fitRows: 0,
      note: `model not fitted: ${withOrders.length} customers with orders, at least ${s.minFitCustomers} needed`,
      checks: { bg: null, gg: null },
    };
  }
  if (repeat.length < s.minRepeatCustomers) {
    return {
      bg: null,
      gg: null,
      fitRows: 0,
      note: `model not fitted: ${repeat.length} repeat buyers, at least ${s.minRepeatCustomers} needed`,
      checks: { bg: null, gg: null },
    };
  }
  const notes: string[] = [];
  const checks: NonNullable<FittedModels['checks']> = { bg: null, gg: null };
  let bg: BgNbdParameters | null = null;
  const fitIdx = sampleIndices(withOrders, s.maxFitRows, s.seed);
  try {
    const rows = fitIdx.map((i) => ({ frequency: frequency[i]!, recency: recency[i]!, T: T[i]! }));
    const fit = fitBgNbd(rows);
    if (
      finitePositive(fit as unknown as Record<string, number>, ['r', 'alpha', 'a', 'b']) &&
      Number.isFinite(fit.logLikelihood)
    ) {
      bg = { r: fit.r, alpha: fit.alpha, a: fit.a, b: fit.b, logLikelihood: fit.logLikelihood };
      checks.bg = {
        converged: fit.converged,
        atBoundary: atBoundary(bg as unknown as Record<string, number>, ['r', 'alpha', 'a', 'b']),
      };
      const w = fitWarning('BG/NBD', fit.converged, checks.bg.atBoundary);
      if (w) notes.push(w);
    } else notes.push(`BG/NBD fit gave unusable parameters ${JSON.stringify(fit)}`);
  } catch (err) {
    notes.push(`BG/NBD fit failed: ${(err as Error).message}`);
  }
  let gg: GammaGammaParameters | null = null;
  try {
    const idx = sampleIndices(repeat, s.maxSpendFitRows, s.seed + 1);
    const fit = fitGammaGamma(
      idx.map((i) => ({ frequency: frequency[i]!, monetaryValue: monetaryMinor[i]! / SPEND_SCALE })),
    );
    if (
      finitePositive(fit as unknown as Record<string, number>, ['p', 'q', 'v']) &&
      Number.isFinite(fit.logLikelihood) &&
      fit.q > 1
    ) {
      gg = { p: fit.p, q: fit.q, v: fit.v, logLikelihood: fit.logLikelihood };
      checks.gg = {
        converged: fit.converged,
        atBoundary: atBoundary(gg as unknown as Record<string, number>, ['p', 'q', 'v']),
      };
      const w = fitWarning('Gamma-Gamma', fit.converged, checks.gg.atBoundary);
      if (w) notes.push(w);
    } else
      notes.push(
        `Gamma-Gamma fit gave unusable parameters ${JSON.stringify(fit)} (q must exceed 1 for a finite mean spend); the average order is used instead`,
      );
  } catch (err) {
    notes.push(`Gamma-Gamma fit failed: ${(err as Error).message}`);
  }
  return { bg, gg, fitRows: bg ? fitIdx.length : 0, note: notes.length > 0 ? notes.join('; ') : null, checks };
}
