/**
 * Random numbers for the bandit: a seeded uniform generator and the normal, gamma and beta
 * samplers built on it. Every sampler takes the generator as an argument, so a seeded run
 * (tests, simulations) is reproducible draw for draw.
 */
import { seededRandom } from '../../util/random.js';

/** A source of uniform numbers in [0, 1), such as `Math.random` or `mulberry32(seed)`. */
export type Rng = () => number;

/**
 * A seeded PRNG (mulberry32: 32-bit state, period 2^32, uniform in [0, 1)). Fast and good enough
 * for Monte Carlo allocation; not for anything secret. It is the project's existing generator
 * (`seededRandom` in src/util/random.ts), so one seed means the same stream everywhere.
 */
export function mulberry32(seed: number): Rng {
  return seededRandom(seed);
}

/** One standard normal draw (Box–Muller; the second value of the pair is dropped to keep the sampler stateless). */
export function sampleNormal(rng: Rng): number {
  const u1 = 1 - rng(); // (0, 1]: log(0) is avoided
  const u2 = rng();
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * One draw from Gamma(shape, rate) (mean shape / rate), by Marsaglia & Tsang (2000),
 * "A simple method for generating gamma variables": for shape ≥ 1, with d = shape − 1/3 and
 * c = 1/√(9d), propose v = (1 + c·x)³ for a standard normal x and accept d·v when
 * ln u < x²/2 + d − d·v + d·ln v (a cheap squeeze, u < 1 − 0.0331·x⁴, accepts most draws first).
 * Shapes below 1 use the boost Gamma(a) = Gamma(a + 1) · U^(1/a).
 */
export function sampleGamma(shape: number, rng: Rng, rate = 1): number {
  if (!(shape > 0) || !(rate > 0))
    throw new RangeError(`gamma needs shape > 0 and rate > 0, got shape ${shape}, rate ${rate}`);
  if (shape < 1) {
    const u = 1 - rng();
    return (sampleGamma(shape + 1, rng, 1) * Math.pow(u, 1 / shape)) / rate;
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = sampleNormal(rng);
    let v = 1 + c * x;
    if (v <= 0) continue;
    v = v * v * v;
    const u = 1 - rng();
    const x2 = x * x;
    if (u < 1 - 0.0331 * x2 * x2) return (d * v) / rate;
    if (Math.log(u) < 0.5 * x2 + d * (1 - v + Math.log(v))) return (d * v) / rate;
  }
}

/** One draw from Beta(a, b), as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function sampleBeta(a: number, b: number, rng: Rng): number {
  const x = sampleGamma(a, rng);
  const y = sampleGamma(b, rng);
  return x / (x + y);
}
