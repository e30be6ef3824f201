import { describe, expect, it } from 'vitest';
import { pooledCalibration, type CutoffPredictions } from '../../src/dormancy/index.js';
import { seededRandom } from '../../src/util/random.js';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** Heavy-tailed draws: Student t with 3 degrees of freedom from normals (Box-Muller). */
function t3(rand: () => number): number {
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const z = normal();
  const chi = normal() ** 2 + normal() ** 2 + normal() ** 2;
  return z / Math.sqrt(chi / 3);
}

/**
 * A fixed design of pooled predictions with a known truth: 2,500 customers, each in 1–4 cut-offs;
 * scores with heavy (t3) tails; each customer's outcomes share a Cauchy-distributed frailty (heavy
 * tails, and correlated outcomes across the customer's cut-offs); the true probability is
 * miscalibrated (sigmoid(−0.3 + 0.9·logit p + u)). The true gap of a decile is the mean of
 * p − E_u[P(y = 1)], E_u taken on a fine quantile grid of the Cauchy.
 */
function design() {
  const rand = seededRandom(21);
  const cutoffs: { ids: number[]; eta: number[]; p: number[] }[] = Array.from({ length: 4 }, () => ({
    ids: [],
    eta: [],
    p: [],
  }));
  const customers = 2500;
  for (let c = 0; c < customers; c++) {
    const base = -2 + 0.8 * t3(rand);
    const k = 1 + Math.floor(rand() * 4);
    for (let j = 0; j < k; j++) {
      const logit = base + 0.5 * t3(rand);
      const o = cutoffs[j]!;
      o.ids.push(c);
      o.eta.push(-0.3 + 0.9 * logit);
      o.p.push(sigmoid(logit));
    }
  }
  const grid = Array.from({ length: 2000 }, (_, i) => 0.4 * Math.tan(Math.PI * ((i + 0.5) / 2000 - 0.5)));
  const truth = cutoffs.map((o) => o.eta.map((e) => grid.reduce((a, u) => a + sigmoid(e + u), 0) / grid.length));
  return { cutoffs, truth, customers };
}

describe('calibration pooled over cut-offs', () => {
  it('covers the true gap of every decile about 95 % of the time with heavy-tailed, clustered outcomes (seeded simulation)', () => {
    const { cutoffs, truth, customers } = design();
    const flat = cutoffs.flatMap((o, k) => o.p.map((p, i) => ({ p, m: truth[k]![i]! })));
    flat.sort((a, b) => a.p - b.p);
    const n = flat.length;
    const trueGap = Array.from({ length: 10 }, (_, d) => {
      const part = flat.slice(Math.floor((d * n) / 10), Math.floor(((d + 1) * n) / 10));
      return part.reduce((a, r) => a + r.p - r.m, 0) / part.length;
    });
    const rand = seededRandom(2021);
    const reps = 300;
    let covered = 0;
    let naiveCovered = 0;
    let total = 0;
    for (let r = 0; r < reps; r++) {
      const u = Array.from({ length: customers }, () => 0.4 * Math.tan(Math.PI * (rand() - 0.5)));
      const preds: CutoffPredictions[] = cutoffs.map((o) => ({
        ids: o.ids,
        p: o.p,
        outcome: o.eta.map((e, i) => (rand() < sigmoid(e + u[o.ids[i]!]!) ? 1 : 0)),
      }));
      const pc = pooledCalibration(preds);
      pc.deciles.forEach((d, k) => {
        total++;
        if (d.low <= trueGap[k]! && trueGap[k]! <= d.high) covered++;
        // The binomial interval that ignores the customer clusters, for comparison.
        const naive = 1.96 * Math.sqrt((d.actual * (1 - d.actual)) / d.n);
        if (Math.abs(d.gap - trueGap[k]!) <= naive) naiveCovered++;
      });
    }
    const coverage = covered / total;
    // Measured: 0.945 over 3,000 intervals (the binomial interval that ignores the clusters: 0.925).
    expect(coverage).toBeGreaterThan(0.93);
    expect(coverage).toBeLessThan(0.97);
    expect(naiveCovered / total).toBeLessThan(coverage);
    // The design is miscalibrated in the top deciles: the table says so there.
    expect(Math.max(...trueGap.map(Math.abs))).toBeGreaterThan(0.03);
  });

  it('reports the figures of its table consistently', () => {
    const preds: CutoffPredictions[] = [
      {
        ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        outcome: [0, 0, 0, 0, 1, 0, 1, 1, 1, 1],
        p: [0.1, 0.1, 0.2, 0.2, 0.4, 0.4, 0.6, 0.7, 0.8, 0.9],
      },
      {
        ids: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
        outcome: [0, 1, 0, 0, 0, 1, 1, 0, 1, 1],
        p: [0.1, 0.2, 0.1, 0.3, 0.4, 0.5, 0.6, 0.6, 0.8, 0.9],
      },
    ];
    const pc = pooledCalibration(preds);
    expect(pc.predictions).toBe(20);
    expect(pc.deciles.map((d) => d.n)).toEqual(new Array(10).fill(2));
    expect(pc.maxGapPp).toBeCloseTo(100 * Math.max(...pc.deciles.map((d) => Math.abs(d.predicted - d.actual))), 9);
    expect(pc.withinGoal).toBe(pc.deciles.every((d) => Math.abs(d.gap) <= 0.03));
    expect(pc.distinguishable).toBe(pc.deciles.filter((d) => d.low > 0 || d.high < 0).length);
  });
});
