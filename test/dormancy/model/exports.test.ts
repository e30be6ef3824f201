import { expect, it } from 'vitest';
import * as root from '../../../src/models.js';
import { loadCdnow } from './helpers.js';

it('the models entry (comeback/models) exports the model functions under the names of the issue, and they work on CDNOW', () => {
  const {
    fitBgNbd,
    bgNbdPAlive,
    bgNbdExpectedPurchases,
    bgNbdExpectedPurchasesNew,
    fitGammaGamma,
    gammaGammaExpectedSpend,
  } = root;
  const cdnow = loadCdnow();
  const bg = fitBgNbd(cdnow);
  expect(Object.keys(bg).sort()).toEqual(['a', 'alpha', 'b', 'converged', 'logLikelihood', 'r']);
  expect(bg.converged).toBe(true);
  expect(bg.r).toBeCloseTo(0.2426, 3); // FHL 2005: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426
  const c = { frequency: 2, recency: 30.43, T: 38.86 };
  expect(bgNbdPAlive(bg, c)).toBeGreaterThan(0);
  expect(bgNbdExpectedPurchases(bg, 39, c)).toBeCloseTo(1.226, 2); // the paper's customer 1
  expect(bgNbdExpectedPurchasesNew(bg, 39)).toBeGreaterThan(0);
  const gg = fitGammaGamma(cdnow.filter((r) => r.frequency > 0));
  expect(Object.keys(gg).sort()).toEqual(['converged', 'logLikelihood', 'p', 'q', 'v']);
  expect(gammaGammaExpectedSpend(gg, { frequency: 0, monetaryValue: 0 })).toBeCloseTo((gg.p * gg.v) / (gg.q - 1), 6);
  expect(typeof root.scoreCustomers).toBe('function');
  expect(typeof root.scoreDb).toBe('function');
});
