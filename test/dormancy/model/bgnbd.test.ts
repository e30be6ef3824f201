import { describe, expect, it } from 'vitest';
import {
  bgNbdExpectedPurchases,
  bgNbdExpectedPurchasesNew,
  bgNbdLogLikelihood,
  bgNbdPAlive,
  fitBgNbd,
  hyp2f1,
  type BgNbdParams,
} from '../../../src/dormancy/model/index.js';
import { aggregateBgNbd } from '../../../src/dormancy/model/bgnbd-data.js';
import { bgNbdObjective } from '../../../src/dormancy/model/bgnbd.js';
import { betaIntegral, loadCdnow, simulateBgNbd } from './helpers.js';

const cdnow = loadCdnow();
const history = (id: number) => cdnow[id - 1]!; // customer IDs are 1-based row numbers

/** Published BG/NBD estimates on CDNOW (Fader, Hardie & Lee 2005, Table/Section 5; weeks). */
const PUBLISHED: BgNbdParams = { r: 0.2426, alpha: 4.4136, a: 0.7929, b: 2.4259 };
const PUBLISHED_LL = -9582.43;

function relErr(actual: number, expected: number): number {
  return Math.abs(actual / expected - 1);
}

/**
 * E[Y(t) | x, t_x, T] by direct numerical integration over the drop-out probability p, as an
 * independent check of the closed form (eq. 10 with 2F1). Integrating λ out analytically:
 *   E = ∫ f(p) (1-p)^x [A^-k - (A + p t)^-k] / p dp / ∫ f(p) [(1-p)^x A^-k + [x>0] p (1-p)^(x-1) B^-k] dp
 * with k = r + x, A = α + T, B = α + t_x and f the Beta(a, b) density (constants cancel).
 */
function expectedByQuadrature(p: BgNbdParams, t: number, x: number, tx: number, T: number): number {
  const k = p.r + x;
  const A = p.alpha + T;
  const B = p.alpha + tx;
  const num = betaIntegral(p.a, p.b, (q) => (Math.pow(1 - q, x) * -Math.expm1(-k * Math.log1p((q * t) / A))) / q);
  const den = betaIntegral(
    p.a,
    p.b,
    (q) => Math.pow(1 - q, x) + (x > 0 ? q * Math.pow(1 - q, x - 1) * Math.pow(A / B, k) : 0),
  );
  return num / den;
}

describe('fitBgNbd on the CDNOW sample (2,357 customers, weeks)', () => {
  const fit = fitBgNbd(cdnow);

  it('reproduces the published estimates and log-likelihood to 0.1%', () => {
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relErr(fit[k], PUBLISHED[k])).toBeLessThan(1e-3);
    expect(relErr(fit.logLikelihood, PUBLISHED_LL)).toBeLessThan(1e-3);
    // Tighter: lifetimes' own fit prints r 0.242593, alpha 4.413532, a 0.792886, b 2.425752 (Quickstart).
    expect(fit.r).toBeCloseTo(0.242593, 5);
    expect(fit.alpha).toBeCloseTo(4.413532, 4);
    expect(fit.a).toBeCloseTo(0.792886, 4);
    expect(fit.b).toBeCloseTo(2.425752, 3);
    expect(fit.logLikelihood).toBeCloseTo(PUBLISHED_LL, 2);
    // The likelihood at the published (rounded) parameters is the published value too.
    expect(bgNbdLogLikelihood(PUBLISHED, cdnow)).toBeCloseTo(PUBLISHED_LL, 1);
  });

  it('is a maximum: the analytic gradient vanishes and no nearby point is better', () => {
    const data = aggregateBgNbd(cdnow);
    const theta = [fit.r, fit.alpha, fit.a, fit.b].map(Math.log);
    const { f, g } = bgNbdObjective(data, theta);
    for (const gi of g) expect(Math.abs(gi)).toBeLessThan(1e-8);
    for (let i = 0; i < 4; i++) {
      for (const h of [-1e-3, 1e-3]) {
        const moved = theta.slice();
        moved[i]! += h;
        expect(bgNbdObjective(data, moved).f).toBeGreaterThan(f);
      }
    }
  });

  it('analytic gradient matches central differences of the log-likelihood', () => {
    const data = aggregateBgNbd(cdnow);
    const theta = [Math.log(0.5), Math.log(6), Math.log(1.3), Math.log(1.7)];
    const { g } = bgNbdObjective(data, theta);
    for (let i = 0; i < 4; i++) {
      const up = theta.slice();
      const down = theta.slice();
      up[i]! += 1e-6;
      down[i]! -= 1e-6;
      const numeric = (bgNbdObjective(data, up).f - bgNbdObjective(data, down).f) / 2e-6;
      expect(Math.abs(numeric - g[i]!)).toBeLessThan(1e-7);
    }
  });

  it("matches lifetimes' documented next-week predictions for its top five customers", () => {
    // lifetimes docs (Quickstart, "Ranking customers from best to worst"), t = 1 week.
    const documented: [number, number][] = [
      [509, 0.424877],
      [841, 0.474738],
      [1981, 0.486526],
      [157, 0.662396],
      [1516, 0.710623],
    ];
    for (const [id, expected] of documented) {
      expect(relErr(bgNbdExpectedPurchases(fit, 1, history(id)), expected)).toBeLessThan(2e-5);
    }
  });

  it('matches the paper for customer 1 (x = 2, t_x = 30.43, T = 38.86) over the 39-week holdout', () => {
    // FHL 2005 (and Hardie's "Implementing the BG/NBD model in Excel" note): 1.226 expected purchases.
    expect(bgNbdExpectedPurchases(PUBLISHED, 39, history(1))).toBeCloseTo(1.226, 3);
    // The task brief quoted 0.0598 for t = 1 for this customer; that value could not be traced to
    // any source and disagrees with eq. 10, which gives 0.0374 here while reproducing every
    // documented lifetimes value above to six digits. Pinned so that a change is noticed.
    expect(bgNbdExpectedPurchases(PUBLISHED, 1, history(1))).toBeCloseTo(0.037443, 5);
    expect(bgNbdPAlive(PUBLISHED, history(1))).toBeCloseTo(0.72661, 4);
  });
});

describe('BG/NBD predictions agree with direct numerical integration of the model', () => {
  const cases: [string, BgNbdParams][] = [
    ['CDNOW estimates (a < 1)', PUBLISHED],
    ['a > 1', { r: 1.3, alpha: 7, a: 2.2, b: 3.1 }],
    ['a = 1 exactly (removable singularity)', { r: 0.6, alpha: 3, a: 1, b: 1.8 }],
    ['a + b < 1 (negative 2F1 parameter c for one-time buyers)', { r: 0.5, alpha: 2, a: 0.4, b: 0.45 }],
  ];
  const customers = [
    { frequency: 0, recency: 0, T: 38.86 },
    { frequency: 2, recency: 30.43, T: 38.86 },
    { frequency: 7, recency: 10, T: 52 },
    { frequency: 29, recency: 37.71, T: 38 },
  ];
  for (const [name, params] of cases) {
    it(name, () => {
      for (const c of customers) {
        // Horizons on both sides of the 2F1 series / transformation switch (z = t/(α+T+t) = 0.75).
        for (const t of [0.5, 39, 150, 1000]) {
          const closed = bgNbdExpectedPurchases(params, t, c);
          expect(relErr(closed, expectedByQuadrature(params, t, c.frequency, c.recency, c.T))).toBeLessThan(1e-6);
        }
      }
      for (const t of [1, 39, 200, 5000]) {
        expect(relErr(bgNbdExpectedPurchasesNew(params, t), expectedByQuadrature(params, t, 0, 0, 0))).toBeLessThan(
          1e-6,
        );
      }
    });
  }

  it('E[X(t)] tends to E[1/p] = (a+b-1)/(a-1), the expected lifetime repeat purchases, when a > 1', () => {
    const p = { r: 2, alpha: 1, a: 2.5, b: 3 };
    expect(bgNbdExpectedPurchasesNew(p, 1e12)).toBeCloseTo(4.5 / 1.5, 5);
  });
});

describe('BG/NBD behaviour and edge cases', () => {
  it('P(alive) is exactly 1 without repeat purchases and falls as the last purchase recedes', () => {
    expect(bgNbdPAlive(PUBLISHED, { frequency: 0, recency: 0, T: 38 })).toBe(1);
    expect(bgNbdPAlive(PUBLISHED, { frequency: 0, recency: 0, T: 0 })).toBe(1);
    const recent = bgNbdPAlive(PUBLISHED, { frequency: 5, recency: 37, T: 38 });
    const stale = bgNbdPAlive(PUBLISHED, { frequency: 5, recency: 5, T: 38 });
    expect(recent).toBeGreaterThan(stale);
    expect(bgNbdPAlive(PUBLISHED, { frequency: 500, recency: 1, T: 100 })).toBeGreaterThanOrEqual(0); // underflows to 0, not NaN
  });

  it('a new customer (one order, T = 0) is the unconditional expectation; E grows with t from 0', () => {
    const fresh = { frequency: 0, recency: 0, T: 0 };
    for (const t of [0.1, 1, 52])
      expect(bgNbdExpectedPurchases(PUBLISHED, t, fresh)).toBeCloseTo(bgNbdExpectedPurchasesNew(PUBLISHED, t), 12);
    expect(bgNbdExpectedPurchases(PUBLISHED, 0, history(1))).toBe(0);
    expect(bgNbdExpectedPurchasesNew(PUBLISHED, 0)).toBe(0);
    let previous = 0;
    for (const t of [1e-9, 1e-3, 1, 10, 100, 1e4, 1e8]) {
      const e = bgNbdExpectedPurchases(PUBLISHED, t, history(6));
      expect(e).toBeGreaterThan(previous);
      previous = e;
    }
    // Small t: E ≈ t · P(alive) · E[λ | history] with full relative precision (no cancellation).
    const tiny = bgNbdExpectedPurchases(PUBLISHED, 1e-10, history(1));
    expect(relErr(tiny / 1e-10, bgNbdExpectedPurchases(PUBLISHED, 1e-6, history(1)) / 1e-6)).toBeLessThan(1e-5);
  });

  it('stays finite for very frequent buyers, whose 2F1 exceeds the double range', () => {
    // x = 2000: 2F1(r+x, b+x; a+b+x-1; z) ≈ e^800 here. Cross-check with the Pfaff form of eq. 10,
    // 1 - (1-z)^(r-b) 2F1(a+b-1-r, b+x; c; -t/(α+T)), whose 2F1 is of modest size.
    const heavy = { frequency: 2000, recency: 1990, T: 2000 };
    const { r, alpha, a, b } = PUBLISHED;
    const t = 1000;
    const x = heavy.frequency;
    const z = t / (alpha + heavy.T + t);
    const c = a + b + x - 1;
    const bracket = 1 - Math.pow(1 - z, r - b) * hyp2f1(a + b - 1 - r, b + x, c, -t / (alpha + heavy.T));
    const expected = (c / (a - 1)) * bracket * bgNbdPAlive(PUBLISHED, heavy);
    const e = bgNbdExpectedPurchases(PUBLISHED, t, heavy);
    expect(relErr(e, expected)).toBeLessThan(1e-9);
    expect(e).toBeGreaterThan(50); // about 86.5: a daily buyer, probably still alive
  });

  it('is continuous through a + b + x - 1 = 0 (2F1 pole in c) for new customers', () => {
    const at = bgNbdExpectedPurchasesNew({ r: 0.5, alpha: 2, a: 0.4, b: 0.6 }, 10);
    const near = bgNbdExpectedPurchasesNew({ r: 0.5, alpha: 2, a: 0.4, b: 0.601 }, 10);
    expect(Number.isFinite(at)).toBe(true);
    expect(relErr(at, near)).toBeLessThan(1e-2);
  });

  it('aggregates identical rows: duplicated data give the same estimates and a scaled log-likelihood', () => {
    const tripled = [...cdnow, ...cdnow, ...cdnow];
    const once = fitBgNbd(cdnow);
    const thrice = fitBgNbd(tripled);
    for (const k of ['r', 'alpha', 'a', 'b'] as const) expect(relErr(thrice[k], once[k])).toBeLessThan(1e-6);
    expect(relErr(thrice.logLikelihood, 3 * once.logLikelihood)).toBeLessThan(1e-9);
    const data = aggregateBgNbd(tripled);
    expect(data.n).toBe(3 * 2357);
    expect(data.rW.reduce((s, w) => s + w, 0)).toBe(3 * 946);
  });

  it('fits a quarter of a million rows (CDNOW repeated 100 times) through the aggregation', () => {
    // The 1,000,000-row timing is measured outside the suite (see the task report); this checks
    // that the aggregated fit at scale is the same fit.
    const big = Array.from({ length: 100 * cdnow.length }, (_, i) => cdnow[i % cdnow.length]!);
    const fit = fitBgNbd(big);
    expect(relErr(fit.r, 0.242593)).toBeLessThan(1e-5);
    expect(relErr(fit.logLikelihood, 100 * PUBLISHED_LL)).toBeLessThan(1e-6);
  });

  it('rejects bad input with a RangeError naming the row, never returning NaN', () => {
    const ok = { frequency: 1, recency: 2, T: 3 };
    const bad = (row: unknown) => [ok, ok, ok, row as never];
    expect(() => fitBgNbd([])).toThrow(/no rows/);
    expect(() => fitBgNbd(bad({ frequency: -1, recency: 0, T: 3 }))).toThrow(/row 3: frequency must be >= 0/);
    expect(() => fitBgNbd(bad({ frequency: 1.5, recency: 1, T: 3 }))).toThrow(
      /row 3: frequency must be a whole number/,
    );
    expect(() => fitBgNbd(bad({ frequency: '2', recency: 1, T: 3 }))).toThrow(
      /row 3: frequency must be a finite number, got string "2"/,
    );
    expect(() => fitBgNbd(bad({ frequency: 1, recency: Number.NaN, T: 3 }))).toThrow(
      /row 3: recency must be a finite number/,
    );
    expect(() => fitBgNbd(bad({ frequency: 1, recency: 1, T: -3 }))).toThrow(/row 3: T must be >= 0/);
    expect(() => fitBgNbd(bad({ frequency: 1, recency: 4, T: 3 }))).toThrow(
      /row 3: recency \(4\) must not exceed T \(3\)/,
    );
    expect(() => fitBgNbd(bad({ frequency: 0, recency: 1, T: 3 }))).toThrow(
      /row 3: recency must be 0 when frequency is 0/,
    );
    expect(() => fitBgNbd(bad({ frequency: 1, T: 3 }))).toThrow(
      /row 3: recency must be a finite number, got undefined/,
    );
    expect(() => fitBgNbd(bad(null))).toThrow(/row 3: expected an object/);
    expect(() => fitBgNbd(bad({ frequency: 1, recency: 1, T: Infinity }))).toThrow(RangeError);
    expect(() => fitBgNbd([{ frequency: 0, recency: 0, T: 5 }])).toThrow(/no customer has a repeat purchase/);
    expect(() => fitBgNbd([{ frequency: 1, recency: 0, T: 0 }])).toThrow(/T = 0/);
    expect(() => fitBgNbd(cdnow, { initial: { r: -1 } })).toThrow(/initial\.r must be > 0/);
    expect(() => bgNbdPAlive({ ...PUBLISHED, b: 0 }, ok)).toThrow(/BG\/NBD parameter b must be > 0/);
    expect(() => bgNbdExpectedPurchases(PUBLISHED, -1, ok)).toThrow(/t must be >= 0/);
    expect(() => bgNbdExpectedPurchases(PUBLISHED, 1, { frequency: 2, recency: 5, T: 4 })).toThrow(RangeError);
    expect(() => bgNbdExpectedPurchasesNew({ ...PUBLISHED, alpha: Number.NaN }, 1)).toThrow(RangeError);
  });

  it('accepts customers with T = 0 among others', () => {
    const rows = [...cdnow, { frequency: 0, recency: 0, T: 0 }];
    const fit = fitBgNbd(rows);
    // A customer observed for no time adds nothing to the likelihood: same estimates.
    expect(relErr(fit.r, 0.242593)).toBeLessThan(1e-5);
    expect(fit.logLikelihood).toBeCloseTo(fitBgNbd(cdnow).logLikelihood, 6);
  });
});

describe('parameter recovery on simulated data (seeded)', () => {
  const truths: [string, BgNbdParams][] = [
    ['CDNOW-like', { r: 0.25, alpha: 4, a: 0.8, b: 2.5 }],
    ['frequent buyers, faster churn', { r: 1.2, alpha: 10, a: 1.5, b: 6 }],
  ];
  for (const [name, truth] of truths) {
    it(`${name}: 20,000 customers observed 1-2 years`, () => {
      const rows = simulateBgNbd(20_000, truth, 7, (u) => 52 + 52 * u());
      const fit = fitBgNbd(rows);
      // Standard errors from the observed information (finite differences of the analytic gradient).
      const data = aggregateBgNbd(rows);
      const theta = [fit.r, fit.alpha, fit.a, fit.b].map(Math.log);
      const hessian = theta.map((_, j) => {
        const up = theta.slice();
        const down = theta.slice();
        up[j]! += 1e-5;
        down[j]! -= 1e-5;
        const gu = bgNbdObjective(data, up).g;
        const gd = bgNbdObjective(data, down).g;
        return gu.map((v, i) => ((v - gd[i]!) / 2e-5) * data.n);
      });
      const se = invert(hessian).map((row, i) => Math.sqrt(row[i]!));
      (['r', 'alpha', 'a', 'b'] as const).forEach((k, i) => {
        const z = Math.log(fit[k] / truth[k]) / se[i]!;
        expect(Math.abs(z)).toBeLessThan(3.5); // within sampling error
      });
      // The well-determined quantities are also within 10%: the rates and the mean drop-out probability.
      expect(relErr(fit.r / fit.alpha, truth.r / truth.alpha)).toBeLessThan(0.1);
      expect(relErr(fit.r, truth.r)).toBeLessThan(0.15);
      expect(relErr(fit.a / (fit.a + fit.b), truth.a / (truth.a + truth.b))).toBeLessThan(0.1);
    });
  }
});

/** Inverse of a small symmetric positive-definite matrix (Gauss-Jordan). */
function invert(m: number[][]): number[][] {
  const n = m.length;
  const a = m.map((row, i) => [...row, ...row.map((_, j) => (i === j ? 1 : 0))]);
  for (let c = 0; c < n; c++) {
    const pivot = a[c]![c]!;
    for (let j = 0; j < 2 * n; j++) a[c]![j]! /= pivot;
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = a[r]![c]!;
      for (let j = 0; j < 2 * n; j++) a[r]![j]! -= f * a[c]![j]!;
    }
  }
  return a.map((row) => row.slice(n));
}
