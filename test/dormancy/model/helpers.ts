/**
 * Test helpers for the purchase models: the CDNOW fixture, a seeded PRNG with gamma/beta
 * samplers, simulators for the BG/NBD and Gamma-Gamma generative processes, and a quadrature
 * rule for independent checks of closed forms.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../../../src/util/random.js';

/** One CDNOW customer: BG/NBD summary plus mean repeat-purchase value. */
export interface CdnowRow {
  frequency: number;
  recency: number;
  T: number;
  monetaryValue: number;
}

/** The 2,357 CDNOW customers (index = customer ID - 1); see fixtures/cdnow_summary.md. */
export function loadCdnow(): CdnowRow[] {
  const text = readFileSync(join(import.meta.dirname, '..', 'fixtures', 'cdnow_summary.csv'), 'utf8');
  return text
    .trim()
    .split('\n')
    .slice(1)
    .map((line) => {
      const [x, tx, T, zbar] = line.split(',').map(Number) as [number, number, number, number];
      return { frequency: x, recency: tx, T, monetaryValue: zbar };
    });
}

/** mulberry32: small, fast, seeded PRNG with uniform output in [0, 1) (the product's own). */
export const mulberry32 = seededRandom;

/** Gamma, beta, exponential samplers on top of a uniform PRNG. */
export function samplers(rand: () => number) {
  const open = (): number => {
    let u = rand();
    while (u === 0) u = rand();
    return u;
  };
  const normal = (): number => Math.sqrt(-2 * Math.log(open())) * Math.cos(2 * Math.PI * rand());
  // Marsaglia & Tsang (2000); shape < 1 via Gamma(k) = Gamma(k + 1) * U^(1/k).
  const gamma = (shape: number): number => {
    if (shape < 1) return gamma(shape + 1) * Math.pow(open(), 1 / shape);
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      if (Math.log(open()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return d * v;
    }
  };
  return {
    uniform: open,
    gamma,
    beta: (a: number, b: number): number => {
      const x = gamma(a);
      return x / (x + gamma(b));
    },
    exponential: (rate: number): number => -Math.log(open()) / rate,
  };
}

/**
 * Customers simulated from the BG/NBD process: λ ~ Gamma(r, rate alpha), p ~ Beta(a, b); after
 * the first purchase at time 0, purchases follow a Poisson(λ) process and the customer drops
 * out with probability p after each repeat purchase; observed until T.
 */
export function simulateBgNbd(
  n: number,
  params: { r: number; alpha: number; a: number; b: number },
  seed: number,
  ageOf: (uniform: () => number) => number,
): { frequency: number; recency: number; T: number }[] {
  const s = samplers(mulberry32(seed));
  const rows = [];
  for (let i = 0; i < n; i++) {
    const T = ageOf(s.uniform);
    const lambda = s.gamma(params.r) / params.alpha;
    const p = s.beta(params.a, params.b);
    let t = 0;
    let x = 0;
    let tx = 0;
    for (;;) {
      t += s.exponential(lambda);
      if (t > T) break;
      x++;
      tx = t;
      if (s.uniform() < p) break;
    }
    rows.push({ frequency: x, recency: tx, T });
  }
  return rows;
}

/**
 * Spend summaries simulated from the Gamma-Gamma model: ν ~ Gamma(q, rate v) per customer,
 * each of `frequency` transactions ~ Gamma(p, rate ν); monetaryValue is their mean.
 */
export function simulateGammaGamma(
  n: number,
  params: { p: number; q: number; v: number },
  seed: number,
): { frequency: number; monetaryValue: number }[] {
  const s = samplers(mulberry32(seed));
  const rows = [];
  for (let i = 0; i < n; i++) {
    const frequency = 1 + Math.floor(s.uniform() * 8);
    const nu = s.gamma(params.q) / params.v;
    let total = 0;
    for (let k = 0; k < frequency; k++) total += s.gamma(params.p) / nu;
    rows.push({ frequency, monetaryValue: total / frequency });
  }
  return rows;
}

// 5-point Gauss-Legendre nodes and weights on [-1, 1].
const GL_X = [0, -0.5384693101056831, 0.5384693101056831, -0.906179845938664, 0.906179845938664];
const GL_W = [0.5688888888888889, 0.4786286704993665, 0.4786286704993665, 0.2369268850561891, 0.2369268850561891];

/** Composite 5-point Gauss-Legendre quadrature of f over [lo, hi] (never evaluates the endpoints). */
export function integrate(f: (u: number) => number, lo: number, hi: number, panels = 2000): number {
  const h = (hi - lo) / panels;
  let sum = 0;
  for (let k = 0; k < panels; k++) {
    const mid = lo + (k + 0.5) * h;
    for (let j = 0; j < 5; j++) sum += GL_W[j]! * f(mid + 0.5 * h * GL_X[j]!);
  }
  return 0.5 * h * sum;
}

/**
 * ∫_0^1 p^(a-1) (1-p)^(b-1) g(p) dp for any a, b > 0. Each half is mapped so that an endpoint
 * singularity disappears: p = u^(1/s) with s = min(a, 1) on [0, 1/2] (p^(a-1) dp = u^(a/s-1) du / s),
 * and likewise 1 - p on [1/2, 1].
 */
export function betaIntegral(a: number, b: number, g: (p: number) => number, panels = 1000): number {
  const half = (e: number, other: number, at: (q: number) => number): number => {
    const s = Math.min(e, 1);
    const body = (u: number): number => {
      const q = Math.pow(u, 1 / s);
      return Math.pow(u, e / s - 1) * Math.pow(1 - q, other - 1) * at(q);
    };
    return integrate(body, 0, Math.pow(0.5, s), panels) / s;
  };
  return half(a, b, g) + half(b, a, (q) => g(1 - q));
}
