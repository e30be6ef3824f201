import { expect, it } from 'vitest';
import { formatRun } from '../../src/cli/commands/score.js';
import { DAY } from '../../src/clock.js';
import { parseScoringSettings } from '../../src/dormancy/config.js';
import { atBoundary, fitModels } from '../../src/dormancy/fit.js';
import { summarizeHistory } from '../../src/dormancy/rhythm.js';
import { SummaryStore, summaryRow } from '../../src/dormancy/store.js';
import { seededRandom } from '../../src/util/random.js';

const NOW = Date.UTC(2026, 5, 1);

/**
 * Degenerate data for BG/NBD: every customer buys at the same rate and drops out with the same
 * probability after each purchase, so there is no heterogeneity for the beta distribution to fit
 * and the likelihood runs off along a/(a+b) = p toward a, b → ∞.
 */
function homogeneousShop(n: number, seed: number): SummaryStore {
  const rand = seededRandom(seed);
  const store = new SummaryStore(n);
  for (let id = 1; id <= n; id++) {
    let t = NOW - Math.floor(200 + rand() * 300) * DAY;
    const orders = [];
    for (;;) {
      orders.push({ orderedAt: t, totalMinor: 3000, discountMinor: 0, returnedMinor: 0, paidLate: false });
      if (orders.length > 1 && rand() < 0.25) break;
      t += Math.ceil(-Math.log(1 - rand()) * 25) * DAY;
      if (t > NOW) break;
    }
    store.push(summaryRow(id, summarizeHistory(orders, NOW), { latePayments: 0, objected: false }));
  }
  return store;
}

it('a fit at the edge of the parameter space is flagged, noted and printed instead of stored silently', () => {
  expect(atBoundary({ a: 2e7, b: 0.5, r: 5e-6 }, ['a', 'b', 'r'])).toEqual(['a=2.00e+7', 'r=0.00000500']);
  const models = fitModels(homogeneousShop(400, 3), parseScoringSettings({}));
  expect(models.bg).not.toBeNull();
  expect(models.checks!.bg!.atBoundary.length).toBeGreaterThan(0);
  expect(models.note).toMatch(
    /BG\/NBD fit (did not converge and )?ended at the edge of the parameter space \((\w+=[\d.e+-]+(, )?)+\): the data do not identify these parameters/,
  );
  const text = formatRun({
    runId: 1,
    customers: 400,
    orders: 1,
    invalidOrders: 0,
    invalidSamples: [],
    priorIntervalDays: 25,
    bgNbd: models.bg,
    gammaGamma: models.gg,
    fitRows: 400,
    modelNote: models.note,
    fitChecks: models.checks!,
    pReturn: { reason: 'no p_return: the backtest needs orders over 3 × 90 days' },
    counts: { withOrders: 400, earlyWarning: 0, lapsed: 0, worthWinningBack: 0, excluded: {} },
    cuts: { recency: [], frequency: [], monetary: [] },
    seconds: { read: 0, fit: 0, write: 0, total: 0, cpu: 0 },
  });
  expect(text).toMatch(/note: .*BG\/NBD fit .*ended at the edge of the parameter space/);
  expect(text).toContain('p_return: no p_return: the backtest needs orders over 3 × 90 days');
});
