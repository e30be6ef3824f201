import { describe, expect, it } from 'vitest';
import { DAY } from '../../src/clock.js';
import { DEFAULT_SCORING_SETTINGS as S, parseScoringSettings } from '../../src/dormancy/config.js';
import { quintileCuts, scoreHigh, scoreLow } from '../../src/dormancy/rfm.js';
import {
  invalidOrderReason,
  isEarlyWarning,
  median,
  overdueRatio,
  priorInterval,
  rhythmOf,
  summarizeHistory,
  type OrderFacts,
} from '../../src/dormancy/rhythm.js';
import { scoreCustomer, type ScoringContext } from '../../src/dormancy/score.js';
import { summaryRow, type SummaryRow } from '../../src/dormancy/store.js';
import { exclusionReasons, isWorthWinningBack, recoveryCostMinor } from '../../src/dormancy/value.js';
import { ConfigError } from '../../src/errors.js';
import type { CustomerScoresTable } from '../../src/dormancy/schema.js';
import { SCORE_NAMES, scoreRowValues } from '../../src/dormancy/write.js';

const NOW = Date.UTC(2026, 5, 1, 12);
const order = (daysAgo: number, total = 5000, extra: Partial<OrderFacts> = {}): OrderFacts => ({
  orderedAt: NOW - daysAgo * DAY,
  totalMinor: total,
  discountMinor: 0,
  returnedMinor: 0,
  paidLate: false,
  ...extra,
});

describe('purchase history summary', () => {
  it('counts purchase days, not orders, for the rhythm and the model inputs', () => {
    const h = summarizeHistory([order(100), order(100, 1000), order(70), order(40), order(10)], NOW)!;
    expect(h.ordersCount).toBe(5);
    expect(h.purchaseDays).toBe(4);
    expect(h.frequency).toBe(3);
    expect(h.recency).toBe(90);
    expect(h.T).toBe(100);
    expect(h.ownIntervalDays).toBe(30);
    // Mean net value of the repeat purchase days (the first day is left out, as in the references).
    expect(h.monetaryMinor).toBe(5000);
  });

  it('sorts unsorted orders; the own interval is the mean over purchase days, the one rhythm the audience uses too', () => {
    const h = summarizeHistory([order(10), order(400), order(20), order(30), order(40)], NOW)!;
    expect(h.firstOrderAt).toBe(NOW - 400 * DAY);
    expect(h.ownIntervalDays).toBe(97.5);
    expect(h.sumLogInterval).toBeCloseTo(3 * Math.log(10) + Math.log(360), 12);
  });

  it('gives a single order frequency 0, recency 0 and no own interval; an order today gives T = 0', () => {
    const one = summarizeHistory([order(0)], NOW)!;
    expect(one).toMatchObject({ frequency: 0, recency: 0, T: 0, ownIntervalDays: null, monetaryMinor: 0 });
    expect(summarizeHistory([], NOW)).toBeNull();
  });

  it('nets returns (never more than the order) and counts discounts and late payments', () => {
    const h = summarizeHistory(
      [order(30, 1000, { returnedMinor: 5000, discountMinor: 100 }), order(10, 3000, { paidLate: true })],
      NOW,
    )!;
    expect(h.netMinor).toBe(3000);
    expect(h.returnedMinor).toBe(1000);
    expect(h.discountedOrders).toBe(1);
    expect(h.paidLateOrders).toBe(1);
  });

  it('names unusable orders instead of computing with them', () => {
    expect(invalidOrderReason(NaN, 100, NOW)).toMatch(/not a timestamp/);
    expect(invalidOrderReason('2026-01-01', 100, NOW)).toMatch(/not a timestamp/);
    expect(invalidOrderReason(NOW - DAY, -5, NOW)).toMatch(/non-negative/);
    expect(invalidOrderReason(NOW - DAY, 'abc', NOW)).toMatch(/non-negative/);
    expect(invalidOrderReason(NOW + DAY, 100, NOW)).toMatch(/after the scoring time/);
    expect(invalidOrderReason(NOW - DAY, 0, NOW)).toBeNull();
  });

  it('median of odd and even lists', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNull();
  });
});

describe('rhythm with a shop prior', () => {
  it('uses the own interval from one interval on by default; with minOwnIntervals 2 shrinks a short history toward the prior; the prior alone for one purchase day', () => {
    expect(rhythmOf(20, 3, 40, S)).toEqual({ intervalDays: 20, source: 'own' });
    expect(rhythmOf(10, 1, 40, S)).toEqual({ intervalDays: 10, source: 'own' });
    // One interval of 10 days, prior 40, prior weight 2: exp((ln 10 + 2 ln 40) / 3) = 25.2
    const shrunk = rhythmOf(10, 1, 40, { ...S, minOwnIntervals: 2 });
    expect(shrunk.source).toBe('prior');
    expect(shrunk.intervalDays).toBeCloseTo(Math.exp((Math.log(10) + 2 * Math.log(40)) / 3), 10);
    expect(rhythmOf(null, 0, 40, S)).toEqual({ intervalDays: 40, source: 'prior' });
    expect(rhythmOf(10, 1, 40, { ...S, minOwnIntervals: 2, priorWeight: 0 }).intervalDays).toBeCloseTo(10, 10);
  });

  it('takes the prior from trusted customers, else any repeat buyer, else the default', () => {
    expect(priorInterval(Float64Array.of(10, 30, 20), Float64Array.of(99), 30)).toBe(20);
    expect(priorInterval(new Float64Array(0), Float64Array.of(7, 9), 30)).toBe(8);
    expect(priorInterval(new Float64Array(0), new Float64Array(0), 30)).toBe(30);
  });

  it('overdue ratio and early warning thresholds', () => {
    expect(overdueRatio(60, 30)).toBe(2);
    expect(overdueRatio(-3, 30)).toBe(0);
    expect(isEarlyWarning(1.49, null, S)).toBe(false);
    expect(isEarlyWarning(1.5, null, S)).toBe(true);
    expect(isEarlyWarning(2.9, 0.5, S)).toBe(true);
    expect(isEarlyWarning(2.9, 0.2, S)).toBe(false); // the model says lost already
    expect(isEarlyWarning(3, 0.9, S)).toBe(false); // lost by rhythm
  });
});

describe('RFM quintiles', () => {
  it('puts a fifth of distinct values in each score, most recent scoring 5', () => {
    const v = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    const cuts = quintileCuts(v);
    expect(cuts).toEqual([20, 40, 60, 80]);
    const counts = [0, 0, 0, 0, 0];
    for (const x of v) counts[scoreHigh(x, cuts) - 1]!++;
    expect(counts).toEqual([20, 20, 20, 20, 20]);
    expect(scoreLow(1, cuts)).toBe(5);
    expect(scoreLow(100, cuts)).toBe(1);
  });

  it('keeps ties together and handles an empty shop', () => {
    const cuts = quintileCuts(Float64Array.of(1, 1, 1, 1, 1, 1, 2, 3, 5, 8));
    expect(scoreHigh(1, cuts)).toBe(1);
    expect(scoreHigh(8, cuts)).toBe(5);
    expect(quintileCuts(new Float64Array(0))).toEqual([]);
    expect(scoreHigh(3, [])).toBe(1);
  });
});

describe('worth winning back', () => {
  it('excludes objectors, bargain hunters, heavy returners and late payers', () => {
    const base = { ordersCount: 4, discountShare: 0, returnRate: 0, latePayments: 0, objected: false };
    expect(exclusionReasons(base, S)).toEqual([]);
    expect(exclusionReasons({ ...base, objected: true }, S)).toEqual(['objected']);
    expect(exclusionReasons({ ...base, discountShare: 0.75 }, S)).toEqual(['bargain_hunter']);
    expect(exclusionReasons({ ...base, ordersCount: 1, discountShare: 1 }, S)).toEqual([]); // one welcome coupon is no pattern
    expect(exclusionReasons({ ...base, returnRate: 0.5 }, S)).toEqual(['heavy_returner']);
    expect(exclusionReasons({ ...base, latePayments: 2 }, S)).toEqual(['late_payer']);
  });

  it('costs mails plus the coupon and compares with the margin on the expected value', () => {
    expect(recoveryCostMinor(5000, S)).toBe(3 * 2 + 500);
    expect(recoveryCostMinor(5000, { ...S, couponRedemptionRate: 0.5, couponFixedMinor: 1000 })).toBe(6 + 750);
    expect(isWorthWinningBack(3, 2000, 506, [], S)).toBe(true); // 0.3 × 2000 = 600 ≥ 506
    expect(isWorthWinningBack(3, 1000, 506, [], S)).toBe(false);
    expect(isWorthWinningBack(3, null, 506, [], S)).toBe(true); // no model: exclusions decide
    expect(isWorthWinningBack(3, 1e6, 506, ['objected'], S)).toBe(false);
    expect(isWorthWinningBack(0, null, 0, [], S)).toBe(false);
  });

  it('refuses invalid settings with the field named', () => {
    expect(() => parseScoringSettings({ horizonDays: -1 })).toThrow(/scoring\.horizonDays/);
    expect(() => parseScoringSettings({ horizonDayz: 1 })).toThrow(/did you mean "horizonDays"/);
    expect(() => parseScoringSettings({ earlyWarningRatio: 3, lostRatio: 2 })).toThrow(ConfigError);
    expect(() => parseScoringSettings({ marginRate: 'high' })).toThrow(/marginRate/);
  });
});

describe('one customer score', () => {
  const ctx = (
    models: ScoringContext['models'] = { bg: null, gg: null, fitRows: 0, note: 'none' },
  ): ScoringContext => ({
    settings: S,
    now: NOW,
    runId: 1,
    priorIntervalDays: 30,
    cuts: { recency: [10, 20, 30, 40], frequency: [1, 2, 3, 4], monetary: [1000, 2000, 3000, 4000] },
    models,
  });
  const summary = (o: OrderFacts[], id = 7): SummaryRow => {
    return summaryRow(id, summarizeHistory(o, NOW), { latePayments: 0, objected: false });
  };
  const noNaN = (row: object) => {
    for (const [k, v] of Object.entries(row)) if (typeof v === 'number') expect(Number.isFinite(v), k).toBe(true);
  };
  const model = {
    bg: { r: 0.9, alpha: 37, a: 0.8, b: 3.5, logLikelihood: -1 },
    gg: { p: 6, q: 4, v: 15, logLikelihood: -1 },
    fitRows: 10,
    note: null,
  };

  it('a first order today: T = 0, due now, P(alive) 1, no NaN', () => {
    const { row } = scoreCustomer(summary([order(0)]), ctx(model));
    expect(row).toMatchObject({
      orders_count: 1,
      t: 0,
      frequency: 0,
      recency: 0,
      days_since_last_order: 0,
      overdue_ratio: 0,
      interval_source: 'prior',
      median_interval_days: 30,
      p_alive: 1,
      early_warning: 0,
      rfm: '515',
    });
    expect(row.expected_value_minor).toBeGreaterThan(0);
    noNaN(row);
  });

  it('a customer without orders: counts are zero, the rest null', () => {
    const { row } = scoreCustomer(summary([]), ctx(model));
    expect(row).toMatchObject({
      orders_count: 0,
      first_order_at: null,
      median_interval_days: null,
      overdue_ratio: null,
      p_alive: null,
      expected_value_minor: null,
      worth_winning_back: 0,
      rfm: null,
      t: 0,
    });
    noNaN(row);
  });

  it('a regular buyer far past their rhythm is lost, one drifting is flagged', () => {
    const regular = scoreCustomer(
      summary([order(250), order(220), order(190), order(160), order(130), order(100)]),
      ctx(model),
    ).row;
    expect(regular).toMatchObject({
      interval_source: 'own',
      median_interval_days: 30,
      days_since_last_order: 100,
      early_warning: 0,
    });
    expect(regular.overdue_ratio).toBeCloseTo(100 / 30, 3);
    const recent = scoreCustomer(
      summary([order(160), order(130), order(100), order(70), order(40), order(10)]),
      ctx(model),
    ).row;
    expect(regular.p_alive!).toBeLessThan(0.5);
    expect(recent.p_alive!).toBeGreaterThan(0.8);
    expect(regular.expected_value_minor!).toBeLessThan(recent.expected_value_minor!);
    const drifting = scoreCustomer(summary([order(100), order(80), order(60), order(40)]), ctx()).row;
    expect(drifting.overdue_ratio).toBe(2);
    expect(drifting.early_warning).toBe(1);
  });

  it('without a model the purchase-model fields are null and worth is decided by the exclusions', () => {
    const { row } = scoreCustomer(summary([order(100), order(50)]), ctx());
    expect(row).toMatchObject({
      p_alive: null,
      expected_purchases_90d: null,
      expected_value_minor: null,
      expected_spend_minor: 5000,
      worth_winning_back: 1,
    });
  });
});

describe('score row values', () => {
  it('lists every column in insert order and refuses a NaN with the customer named', () => {
    const row = Object.fromEntries(SCORE_NAMES.map((n, i) => [n, i])) as unknown as CustomerScoresTable;
    expect(scoreRowValues(row)).toEqual(SCORE_NAMES.map((_, i) => i));
    expect(() => scoreRowValues({ ...row, customer_id: 42, p_alive: Number.NaN })).toThrow(
      /customer 42: p_alive is NaN/,
    );
  });
});
