import { DAY } from '../clock.js';
import type { ScoringSettings } from './config.js';
import { SPEND_SCALE, type FittedModels } from './fit.js';
import { bgNbdExpectedPurchasesIfAlive, bgNbdPAlive, gammaGammaExpectedSpend } from './model/index.js';
import { scoreHigh, scoreLow, type RfmCuts } from './rfm.js';
import { predictReturn, type ReturnModel } from './return-model.js';
import { dayIndex, isEarlyWarning, overdueRatio, rhythmOf } from './rhythm.js';
import type { CustomerScoresTable } from './schema.js';
import type { SummaryRow } from './store.js';
import { exclusionReasons, isWorthWinningBack, recoveryCostMinor, type ExclusionReason } from './value.js';

/** Everything a run knows once it has read the whole shop: the context of each customer's score. */
export interface ScoringContext {
  settings: ScoringSettings;
  now: number;
  runId: number;
  priorIntervalDays: number;
  cuts: RfmCuts;
  models: FittedModels;
  /** Model values shared by customers with the same (frequency, recency, T); optional. */
  cache?: ModelCache;
  /** Customers whose model values could not be computed (they get the rhythm-only score); optional. */
  modelErrors?: ModelErrors;
  /** The backtest's winner, calibrated, for `p_return`; absent without a backtest. */
  returnModel?: ReturnModel;
}

/** Counts customers whose model values failed, with the first error for the run's note. */
export interface ModelErrors {
  count: number;
  first: string | null;
}

/** A score row as written, plus the exclusion reasons behind `worth_winning_back`. */
export interface ComputedScore {
  row: CustomerScoresTable;
  exclusions: ExclusionReason[];
}

const POW10 = [1, 10, 100, 1000, 1e4, 1e5, 1e6];
const round = (x: number, digits: number): number => Math.round(x * POW10[digits]!) / POW10[digits]!;

/** "111".."555": one string per combination instead of a new one per customer. */
const RFM_TEXT = new Map<number, string>();
for (let r = 1; r <= 5; r++)
  for (let f = 1; f <= 5; f++) for (let m = 1; m <= 5; m++) RFM_TEXT.set(r * 100 + f * 10 + m, `${r}${f}${m}`);

/** The purchase-model values that depend only on (frequency, recency, T). */
export interface ModelValues {
  pAlive: number;
  purchases90: number;
  /** Discounted expected purchases over the horizon: the expected value per unit of spend. */
  discountedPurchases: number;
  /** Expected purchases within `returnHorizonDays` (the same as `purchases90` at 90 days). */
  purchasesReturn: number;
}

/** Model values of a history the model functions failed on: every field becomes null in the row. */
const NOT_COMPUTABLE: ModelValues = Object.freeze({
  pAlive: NaN,
  purchases90: NaN,
  discountedPurchases: NaN,
  purchasesReturn: NaN,
});

/** The expectations given alive, shared by every customer with the same frequency and T. */
export interface AliveValues {
  purchases90: number;
  discountedPurchases: number;
  purchasesReturn: number;
}

const FAILED: AliveValues = Object.freeze({ purchases90: NaN, discountedPurchases: NaN, purchasesReturn: NaN });

/**
 * A cache of the expectations given alive per (frequency, T); customers share them in a run.
 * (Keyed without the recency: a million customers have about as many distinct (frequency,
 * recency, T) but only tens of thousands of (frequency, T).)
 */
export type ModelCache = Map<number, AliveValues>;

const MAX_CACHE = 2_000_000;

/**
 * Expected purchases in 90 days and the discounted expected purchases over the horizon, given
 * alive: the steps of `customerLifetimeValue` (cumulative expectation at every `valueStepDays` up
 * to `horizonDays`, each increment discounted at the step's end) with a unit spend. Throws where
 * the model functions do.
 */
function aliveValues(
  bg: NonNullable<FittedModels['bg']>,
  h: { frequency: number; T: number },
  s: ScoringSettings,
): AliveValues {
  const rate = Math.pow(1 + s.annualDiscountRate, s.valueStepDays / 365) - 1;
  const steps = Math.max(1, Math.ceil(s.horizonDays / s.valueStepDays - 1e-9));
  let value = 0;
  let previous = 0;
  let purchases90 = NaN;
  for (let k = 1; k <= steps; k++) {
    const t = Math.min(k * s.valueStepDays, s.horizonDays);
    const cumulative = bgNbdExpectedPurchasesIfAlive(bg, t, h);
    value += (cumulative - previous) / Math.pow(1 + rate, t / s.valueStepDays);
    previous = cumulative;
    if (t === 90) purchases90 = cumulative;
  }
  if (Number.isNaN(purchases90)) purchases90 = bgNbdExpectedPurchasesIfAlive(bg, 90, h);
  if (!Number.isFinite(value) || !Number.isFinite(purchases90))
    throw new RangeError(`expected purchases not finite (${purchases90}, ${value})`);
  const purchasesReturn =
    s.returnHorizonDays === 90 ? purchases90 : bgNbdExpectedPurchasesIfAlive(bg, s.returnHorizonDays, h);
  return { purchases90, discountedPurchases: value, purchasesReturn };
}

/**
 * P(alive), expected purchases in 90 days, and the discounted expected purchases over the
 * horizon in steps of `valueStepDays`, each step discounted at its end: `customerLifetimeValue`
 * of the model (the reference implementations' method) with a unit spend, so that the expected
 * value is this times the customer's expected spend. The expectations are P(alive) times the
 * expectations given alive, which are cached per (frequency, T).
 * Never throws: where the model functions fail, the values are NaN (written as null) and the
 * failure is counted, per customer, in `ctx.modelErrors`.
 */
export function modelValues(
  ctx: Pick<ScoringContext, 'models' | 'settings'> & { cache?: ModelCache; modelErrors?: ModelErrors },
  h: { frequency: number; recency: number; T: number },
): ModelValues | null {
  const bg = ctx.models.bg;
  if (!bg) return null;
  const fail = (err: unknown): ModelValues => {
    if (ctx.modelErrors) {
      ctx.modelErrors.count++;
      if (err)
        ctx.modelErrors.first ??= `frequency ${h.frequency}, recency ${h.recency}, T ${h.T}: ${(err as Error).message}`;
    }
    return NOT_COMPUTABLE;
  };
  const key =
    Number.isInteger(h.frequency) &&
    Number.isInteger(h.T) &&
    h.frequency >= 0 &&
    h.frequency < 1e6 &&
    h.T >= 0 &&
    h.T < 1e6
      ? h.frequency * 1e6 + h.T
      : -1;
  let alive = key >= 0 ? ctx.cache?.get(key) : undefined;
  if (!alive) {
    let error: unknown = null;
    try {
      alive = aliveValues(bg, h, ctx.settings);
    } catch (err) {
      // One history the numerics cannot handle must not stop the run: that customer keeps the
      // rhythm-only score (model fields null), and the run counts and notes it.
      alive = FAILED;
      error = err;
    }
    if (key >= 0 && ctx.cache) {
      if (ctx.cache.size >= MAX_CACHE) ctx.cache.clear();
      ctx.cache.set(key, alive);
    }
    if (error) return fail(error);
  }
  if (alive === FAILED) return fail(null);
  let pAlive: number;
  try {
    pAlive = bgNbdPAlive(bg, h);
  } catch (err) {
    return fail(err);
  }
  return {
    pAlive,
    purchases90: pAlive * alive.purchases90,
    discountedPurchases: pAlive * alive.discountedPurchases,
    purchasesReturn: pAlive * alive.purchasesReturn,
  };
}

function finiteOrNull(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
}

/**
 * Scores one customer from their summary. Pure: the same summary and context give the same row.
 * Values that are undefined for the customer (no orders, no model) are null; no value is NaN.
 */
export function scoreCustomer(c: SummaryRow, ctx: ScoringContext): ComputedScore {
  const s = ctx.settings;
  const n = c.ordersCount;
  const has = n > 0;
  const avgOrder = has ? c.netMinor / n : 0;
  const discountShare = has ? c.discountedOrders / n : 0;
  const returnRate = c.grossMinor > 0 ? c.returnedMinor / c.grossMinor : 0;
  const objected = c.objected === 1;
  const history = { frequency: c.frequency, recency: c.recency, T: c.T };

  let intervalDays: number | null = null;
  let source: 'own' | 'prior' | null = null;
  let daysSince: number | null = null;
  let ratio: number | null = null;
  let r: number | null = null;
  let f: number | null = null;
  let m: number | null = null;
  let pAlive: number | null = null;
  let purchases90: number | null = null;
  let spend: number | null = null;
  let value: number | null = null;
  let pReturn: number | null = null;
  if (has) {
    const rhythm = rhythmOf(
      Number.isNaN(c.ownInterval) ? null : c.ownInterval,
      c.purchaseDays - 1,
      ctx.priorIntervalDays,
      s,
    );
    intervalDays = rhythm.intervalDays;
    source = rhythm.source;
    const exactDays = Math.max(0, (ctx.now - c.lastOrderAt) / DAY);
    daysSince = Math.floor(exactDays);
    ratio = overdueRatio(exactDays, intervalDays);
    r = scoreLow(exactDays, ctx.cuts.recency);
    f = scoreHigh(n, ctx.cuts.frequency);
    m = scoreHigh(c.netMinor, ctx.cuts.monetary);
    const mv = modelValues(ctx, history);
    if (mv) {
      pAlive = finiteOrNull(mv.pAlive);
      purchases90 = finiteOrNull(mv.purchases90);
    }
    spend = avgOrder;
    if (ctx.models.gg) {
      const e =
        gammaGammaExpectedSpend(ctx.models.gg, {
          frequency: c.frequency,
          monetaryValue: c.monetaryMinor / SPEND_SCALE,
        }) * SPEND_SCALE;
      if (Number.isFinite(e) && e >= 0) spend = e;
    }
    if (mv && pAlive !== null && purchases90 !== null) value = finiteOrNull(mv.discountedPurchases * spend);
    if (ctx.returnModel) {
      const lastDay = dayIndex(c.lastOrderAt);
      const f = {
        id: c.customerId,
        x: c.frequency,
        recency: c.recency,
        T: c.T,
        sinceLast: Math.max(0, dayIndex(ctx.now) - lastDay),
        sumLogInterval: c.sumLogInterval,
      };
      const known =
        mv && Number.isFinite(mv.pAlive) && Number.isFinite(mv.purchasesReturn)
          ? { pAlive: mv.pAlive, expected: mv.purchasesReturn }
          : undefined;
      if (known || (!ctx.returnModel.method.startsWith('bg_') && ctx.returnModel.method !== 'combined'))
        pReturn = finiteOrNull(predictReturn(ctx.returnModel, f, known));
    }
  }
  const cost = recoveryCostMinor(avgOrder, s);
  const exclusions = exclusionReasons(
    { ordersCount: n, discountShare, returnRate, latePayments: c.latePayments, objected },
    s,
  );
  const valueMinor = value === null ? null : Math.round(value);
  const row: CustomerScoresTable = {
    customer_id: c.customerId,
    run_id: ctx.runId,
    orders_count: n,
    first_order_at: has ? c.firstOrderAt : null,
    last_order_at: has ? c.lastOrderAt : null,
    total_spent_minor: Math.round(c.netMinor),
    avg_order_minor: Math.round(avgOrder),
    median_interval_days: intervalDays === null ? null : round(intervalDays, 2),
    interval_source: source,
    days_since_last_order: daysSince,
    overdue_ratio: ratio === null ? null : round(ratio, 3),
    early_warning: ratio !== null && isEarlyWarning(ratio, pAlive, s) ? 1 : 0,
    r_score: r,
    f_score: f,
    m_score: m,
    rfm: r === null ? null : RFM_TEXT.get(r * 100 + f! * 10 + m!)!,
    frequency: c.frequency,
    recency: c.recency,
    t: c.T,
    p_alive: pAlive === null ? null : round(pAlive, 6),
    expected_purchases_90d: purchases90 === null ? null : round(purchases90, 6),
    expected_spend_minor: spend === null ? null : Math.round(spend),
    expected_value_minor: valueMinor,
    recovery_cost_minor: cost,
    worth_winning_back: isWorthWinningBack(n, valueMinor, cost, exclusions, s) ? 1 : 0,
    discount_share: round(discountShare, 4),
    return_rate: round(returnRate, 4),
    late_payments: c.latePayments,
    objected: objected ? 1 : 0,
    scored_at: ctx.now,
    p_return: pReturn === null ? null : round(pReturn, 6),
    interval_days: intervalDays === null ? null : round(intervalDays, 2),
  };
  return { row, exclusions };
}
