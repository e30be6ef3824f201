/**
 * Choosing the recalibration by the backtest, not by hand: every method of recalibrate.ts judged
 * on the same cut-offs; the winning score of each method is found by mean AUC, and the method
 * whose winner has the lowest log-loss pooled over the cut-offs is kept (the log-loss rewards
 * calibration and ranking together and, unlike the largest decile gap, is not dominated by one
 * noisy decile). Because that choice has seen the cut-offs it is judged on, the *prequential*
 * figures say what a shop would have got choosing at each cut-off from the older ones only
 * (Dawid 1984, "Statistical theory: the prequential approach").
 */
import type { OriginResult } from './backtest-origin.js';
import { pickWinner, SIGNALS, type SignalName } from './backtest-signals.js';
import { pooledCalibration, type PooledCalibration } from './pooled-calibration.js';
import { RECALIBRATIONS, type RecalibrationName } from './recalibrate.js';

/** How one recalibration method did over the cut-offs. */
export interface RecalibrationCandidate {
  meanAuc: Partial<Record<SignalName, number>>;
  winner: SignalName;
  /** The winner's pooled log-loss and largest pooled decile gap (pp); its largest gap per cut-off, latest first. */
  pooledLogLoss: number;
  pooledMaxGapPp: number;
  maxGapPp: number[];
}

/** The choice of recalibration, with every candidate's figures. */
export interface RecalibrationChoice {
  method: RecalibrationName;
  rule: string;
  candidates: Partial<Record<RecalibrationName, RecalibrationCandidate>>;
  /**
   * Per cut-off (latest first), the method the older cut-offs alone choose, and the pooled
   * calibration of the winner so chosen.
   */
  prequential: { methods: RecalibrationName[]; pooled: PooledCalibration };
}

/** Mean AUC per score over cut-offs (only scores judged at every cut-off). */
export function meanAucOf(origins: readonly OriginResult[]): Partial<Record<SignalName, number>> {
  const out: Partial<Record<SignalName, number>> = {};
  for (const s of SIGNALS) {
    const v = origins.map((r) => r.signals[s]?.auc).filter((a): a is number => a !== undefined && Number.isFinite(a));
    if (v.length === origins.length && v.length > 0) out[s] = v.reduce((a, b) => a + b, 0) / v.length;
  }
  return out;
}

/** The pooled calibration of one score over cut-offs. */
export function pooledOf(origins: readonly OriginResult[], s: SignalName): PooledCalibration | null {
  if (origins.some((o) => !o.predictions.p[s])) return null;
  const cutoffs = origins.map((o) => ({
    ids: o.predictions.ids,
    outcome: o.predictions.outcome,
    p: o.predictions.p[s]!,
  }));
  return pooledCalibration(cutoffs);
}

function candidate(origins: readonly OriginResult[]): RecalibrationCandidate {
  const meanAuc = meanAucOf(origins);
  const winner = pickWinner(meanAuc);
  const pooled = pooledOf(origins, winner);
  return {
    meanAuc,
    winner,
    pooledLogLoss: pooled?.logLoss ?? Infinity,
    pooledMaxGapPp: pooled?.maxGapPp ?? NaN,
    maxGapPp: origins.map((o) => o.signals[winner]?.maxCalibrationGapPp ?? NaN),
  };
}

/** The method with the lowest pooled log-loss of its winner; the earlier in the list on a tie. */
function best(byMethod: ReadonlyMap<RecalibrationName, readonly OriginResult[]>): RecalibrationName {
  let choice: RecalibrationName = RECALIBRATIONS[0];
  let score = Infinity;
  for (const m of RECALIBRATIONS) {
    const os = byMethod.get(m);
    if (!os || os.length === 0) continue;
    const ll = candidate(os).pooledLogLoss;
    if (ll < score - 1e-12) {
      score = ll;
      choice = m;
    }
  }
  return choice;
}

/** Chooses the recalibration from every method's results at the same cut-offs (latest first). */
export function chooseRecalibration(
  byMethod: ReadonlyMap<RecalibrationName, readonly OriginResult[]>,
): RecalibrationChoice {
  const candidates: RecalibrationChoice['candidates'] = {};
  for (const [m, os] of byMethod) candidates[m] = candidate(os);
  const method = best(byMethod);
  const winner = candidates[method]!.winner;
  const count = byMethod.get(method)!.length;
  const methods: RecalibrationName[] = [];
  const chosen: OriginResult[] = [];
  for (let k = 0; k < count; k++) {
    // Cut-off k is judged with the method the cut-offs older than it (k + 1 …) would have chosen.
    const older = new Map([...byMethod].map(([m, os]) => [m, os.slice(k + 1)] as const));
    const m = count - k - 1 > 0 ? best(older) : RECALIBRATIONS[0];
    methods.push(m);
    chosen.push(byMethod.get(m)![k]!);
  }
  return {
    method,
    rule: 'lowest log-loss of the winning score pooled over the cut-offs',
    candidates,
    prequential: { methods, pooled: pooledOf(chosen, winner) ?? pooledCalibration([]) },
  };
}
