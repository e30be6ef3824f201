/**
 * The BG/NBD conditional expectation (FHL 2005 eq. 10) where its Gauss hypergeometric series
 * cannot be summed: fits at the edge of the parameter space (a shop whose customers drop out
 * with one fixed probability) send a and b to 1e6..1e12 with a/(a+b) fixed, and the series then
 * needs about a + b terms. The bracket 1 - (1-z)^A 2F1(A, b+x; a+b+x-1; z) of eq. 10 equals, by
 * Pfaff's transformation and Euler's integral,
 *
 *   1 - E[(1 + u s)^-A],   s ~ Beta(a - 1, b + x),   u = t / (alpha + T) = z / (1 - z),
 *
 * an expectation over a beta distribution that is narrow exactly when the series is long.
 */

/** From this a + b + x - 1 on, the second-order expansion is tried first. */
const CONCENTRATED_FROM = 1e4;
/** The expansion is used when its second-order term is at most this share of the result. */
const EXPANSION_LIMIT = 1e-6;

function moments(a: number, bx: number): { mean: number; variance: number; n: number } {
  const n = a - 1 + bx;
  const mean = (a - 1) / n;
  return { mean, variance: (mean * (1 - mean)) / (n + 1), n };
}

/**
 * The bracket for a narrow beta distribution: f(mean) + f''(mean) var / 2 with f(s) = (1+us)^-A.
 * The terms left out are of the order of the square of the second-order term (below 1e-12 of the
 * result). Returns null when a <= 1, a + b + x - 1 < 1e4, or the expansion is not that accurate.
 * @param A r + x
 * @param a the BG/NBD a
 * @param bx b + x
 * @param u t / (alpha + T)
 */
export function concentratedBracket(A: number, a: number, bx: number, u: number): number | null {
  if (!(a > 1 && bx > 0)) return null;
  const { mean, variance, n } = moments(a, bx);
  if (!(n >= CONCENTRATED_FROM)) return null;
  const lnBase = Math.log1p(u * mean);
  const first = -Math.expm1(-A * lnBase);
  const second = 0.5 * A * (A + 1) * u * u * Math.exp(-(A + 2) * lnBase) * variance;
  if (!(first > 0) || !(second <= EXPANSION_LIMIT * first)) return null;
  return first - second;
}

// 16-point Gauss-Legendre nodes and weights on [-1, 1], computed once by Newton's method.
const GL_N = 16;
const GL_X: number[] = [];
const GL_W: number[] = [];
for (let i = 1; i <= GL_N; i++) {
  let x = Math.cos((Math.PI * (i - 0.25)) / (GL_N + 0.5));
  let dp = 1;
  for (let it = 0; it < 100; it++) {
    let p0 = 1;
    let p1 = x;
    for (let k = 2; k <= GL_N; k++) {
      const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
      p0 = p1;
      p1 = p2;
    }
    dp = (GL_N * (x * p1 - p0)) / (x * x - 1);
    const dx = p1 / dp;
    x -= dx;
    if (Math.abs(dx) < 1e-16) break;
  }
  GL_X.push(x);
  GL_W.push(2 / ((1 - x * x) * dp * dp));
}

/** Panels of the composite quadrature, and the half-width of the range in standard deviations. */
const PANELS = 12;
const SPREAD = 14;

/**
 * The bracket by composite Gauss-Legendre quadrature of the beta density over mean ± 14 standard
 * deviations (clipped to [0, 1]), normalised by the quadrature of the density itself, so that the
 * beta function is never needed. Meant for beta(a - 1, b + x) with both shapes >= 1 (a smooth,
 * unimodal density) where the series fails; relative accuracy about 1e-8 there. Returns null
 * for other shapes.
 * @param A r + x
 * @param a the BG/NBD a
 * @param bx b + x
 * @param u t / (alpha + T)
 */
export function betaExpectationBracket(A: number, a: number, bx: number, u: number): number | null {
  const al = a - 1;
  if (!(al >= 1 && bx >= 1 && Number.isFinite(al + bx) && A > 0 && u >= 0)) return null;
  const { mean, variance } = moments(a, bx);
  const sd = Math.sqrt(variance);
  const lo = Math.max(0, mean - SPREAD * sd);
  const hi = Math.min(1, mean + SPREAD * sd);
  const lnMode = (al - 1) * Math.log(mean) + (bx - 1) * Math.log1p(-mean); // keeps exp() in range
  const width = (hi - lo) / PANELS;
  let mass = 0;
  let sum = 0;
  for (let p = 0; p < PANELS; p++) {
    const mid = lo + (p + 0.5) * width;
    for (let i = 0; i < GL_N; i++) {
      const s = mid + 0.5 * width * GL_X[i]!;
      if (s <= 0 || s >= 1) continue;
      const w = GL_W[i]! * Math.exp((al - 1) * Math.log(s) + (bx - 1) * Math.log1p(-s) - lnMode);
      mass += w;
      sum += w * -Math.expm1(-A * Math.log1p(u * s));
    }
  }
  if (!(mass > 0) || !Number.isFinite(sum)) return null;
  return sum / mass;
}
