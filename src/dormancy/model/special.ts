/**
 * Special functions for the purchase models: log-gamma, digamma, log-beta, log-sum-exp and the
 * Gauss hypergeometric function 2F1. Written here (no numeric dependency); accuracy is about
 * 1e-14 relative for log-gamma/digamma and 1e-10 or better for 2F1 on the models' domain.
 */

const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
// Lanczos approximation, g = 7, n = 9 (Numerical Recipes / Godfrey coefficients).
const LANCZOS_G = 7;
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
  12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

function isNonPositiveInteger(x: number): boolean {
  return x <= 0 && Number.isInteger(x);
}

/**
 * Natural log of |Γ(x)|. Infinity at the poles (0, -1, -2, ...).
 * @param x any real number
 */
export function gammaln(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (isNonPositiveInteger(x)) return Infinity;
  if (x === Infinity) return Infinity;
  if (x < 0.5) {
    // Reflection: Γ(x)Γ(1-x) = π / sin(πx); keeps Lanczos on the half-plane where it is accurate.
    return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - gammaln(1 - x);
  }
  const y = x - 1;
  let s = LANCZOS[0]!;
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i]! / (y + i);
  const t = y + LANCZOS_G + 0.5;
  return LN_SQRT_2PI + (y + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * Sign of Γ(x): +1 for x > 0, alternating between the poles for x < 0 (0 at a pole).
 * @param x any real number
 */
export function gammaSign(x: number): number {
  if (x > 0) return 1;
  if (isNonPositiveInteger(x)) return 0;
  return Math.floor(x) % 2 === 0 ? 1 : -1;
}

/**
 * Digamma ψ(x) = d/dx ln Γ(x), used for analytic likelihood gradients.
 * @param x any real number except the poles 0, -1, -2, ...
 */
export function digamma(x: number): number {
  if (isNonPositiveInteger(x)) return NaN;
  if (x < 0) return digamma(1 - x) - Math.PI / Math.tan(Math.PI * x);
  let acc = 0;
  // Recurrence up to x >= 10, where the asymptotic series below is accurate to about 1e-16.
  while (x < 10) {
    acc -= 1 / x;
    x += 1;
  }
  const f = 1 / (x * x);
  const tail = f * (1 / 12 - f * (1 / 120 - f * (1 / 252 - f * (1 / 240 - f * (1 / 132 - f * (691 / 32760))))));
  return acc + Math.log(x) - 0.5 / x - tail;
}

/**
 * Natural log of the beta function B(a, b) = Γ(a)Γ(b)/Γ(a+b), for a, b > 0.
 * @param a first shape, > 0
 * @param b second shape, > 0
 */
export function betaln(a: number, b: number): number {
  return gammaln(a) + gammaln(b) - gammaln(a + b);
}

/**
 * ln(e^x + e^y) without overflow or underflow.
 * @param x first log-term
 * @param y second log-term
 */
export function logSumExp(x: number, y: number): number {
  const m = Math.max(x, y);
  if (m === -Infinity) return -Infinity;
  return m + Math.log1p(Math.exp(Math.min(x, y) - m));
}

const SERIES_EPS = 1e-17;
const SERIES_MAX_TERMS = 2_000_000;
/** Above this |z| the power series is slow; switch to the 1 - z transformation. */
const SERIES_LIMIT = 0.75;
/** Closer than this to an integer, c - a - b is treated by the logarithmic (integer) formulas. */
const INTEGER_GAP = 1e-5;

/** Σ_{n>=1} (a)_n (b)_n / ((c)_n n!) z^n, i.e. 2F1 - 1 by the defining series. */
function seriesMinus1(a: number, b: number, c: number, z: number): number {
  let term = 1;
  let sum = 0;
  for (let n = 0; n < SERIES_MAX_TERMS; n++) {
    term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
    sum += term;
    if (term === 0) return sum; // a or b is a non-positive integer: the series ended
    if (!Number.isFinite(sum)) break;
    // Stop only once terms shrink geometrically, bounding the tail by term * rho / (1 - rho).
    const rho = Math.abs((((a + n + 1) * (b + n + 1)) / ((c + n + 1) * (n + 2))) * z);
    if (rho < 1 && (Math.abs(term) * rho) / (1 - rho) <= SERIES_EPS * Math.abs(1 + sum)) return sum;
  }
  throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}): series did not converge`);
}

/** Γ(p1)Γ(p2)/(Γ(q1)Γ(q2)) with signs, 0 when a denominator Γ has a pole. */
function gammaRatio(p1: number, p2: number, q1: number, q2: number): number {
  const sq = gammaSign(q1) * gammaSign(q2);
  if (sq === 0) return 0;
  const sign = gammaSign(p1) * gammaSign(p2) * sq;
  return sign * Math.exp(gammaln(p1) + gammaln(p2) - gammaln(q1) - gammaln(q2));
}

/** Abramowitz & Stegun 15.3.6 (z -> 1 - z) for c - a - b not an integer, 0 < z < 1. */
function oneMinusZ(a: number, b: number, c: number, z: number): number {
  const w = 1 - z;
  const s = c - a - b;
  const first = gammaRatio(c, s, c - a, c - b);
  const second = gammaRatio(c, -s, a, b);
  let out = 0;
  if (first !== 0) out += first * (1 + seriesMinus1(a, b, 1 - s, w));
  if (second !== 0) out += second * Math.pow(w, s) * (1 + seriesMinus1(c - a, c - b, 1 + s, w));
  return out;
}

/**
 * A&S 15.3.10/15.3.11, the logarithmic case c = a + b + m of the z -> 1 - z transformation with
 * m a non-negative integer and 0 < z < 1:
 *   Γ(m)Γ(c)/(Γ(a+m)Γ(b+m)) Σ_{n<m} (a)_n (b)_n / (n! (1-m)_n) w^n
 *   - (-w)^m Γ(c)/(Γ(a)Γ(b)) Σ_n (a+m)_n (b+m)_n / (n! (n+m)!) w^n
 *       [ln w - ψ(n+1) - ψ(n+m+1) + ψ(a+n+m) + ψ(b+n+m)],   w = 1 - z.
 */
function logarithmicCase(a: number, b: number, m: number, z: number): number {
  if (isNonPositiveInteger(a) || isNonPositiveInteger(b)) return 1 + seriesMinus1(a, b, a + b + m, z); // a polynomial
  const w = 1 - z;
  const c = a + b + m;
  let finite = 0;
  const coef1 = m > 0 ? gammaRatio(m, c, a + m, b + m) : 0;
  if (coef1 !== 0) {
    let term = 1;
    let sum = 1;
    for (let n = 0; n < m - 1; n++) {
      term *= (((a + n) * (b + n)) / ((n + 1) * (1 - m + n))) * w;
      sum += term;
    }
    finite = coef1 * sum;
  }
  const coef2 = gammaRatio(c, 1, a, b);
  if (coef2 === 0) return finite;
  // ψ values advance by the recurrence ψ(x + 1) = ψ(x) + 1/x.
  let psi1 = digamma(1);
  let psi2 = digamma(m + 1);
  let psi3 = digamma(a + m);
  let psi4 = digamma(b + m);
  const lnW = Math.log(w);
  let t = Math.exp(-gammaln(m + 1));
  let sum = 0;
  for (let n = 0; n < SERIES_MAX_TERMS; n++) {
    const term = t * (lnW - psi1 - psi2 + psi3 + psi4);
    sum += term;
    const rho = Math.abs((((a + m + n) * (b + m + n)) / ((n + 1) * (n + m + 1))) * w);
    if (rho < 0.9 && n > 2 && Math.abs(term) <= SERIES_EPS * Math.abs(sum)) break;
    t *= (((a + m + n) * (b + m + n)) / ((n + 1) * (n + m + 1))) * w;
    psi1 += 1 / (n + 1);
    psi2 += 1 / (n + m + 1);
    psi3 += 1 / (a + m + n);
    psi4 += 1 / (b + m + n);
  }
  return finite - Math.pow(-w, m) * coef2 * sum;
}

/** 2F1 for 0 <= z < 1 (c not a pole), choosing series or transformation. */
function hyp2f1Unit(a: number, b: number, c: number, z: number): number {
  if (z <= SERIES_LIMIT || isNonPositiveInteger(a) || isNonPositiveInteger(b)) return 1 + seriesMinus1(a, b, c, z);
  const s = c - a - b;
  const m = Math.round(s);
  const e = s - m;
  if (Math.abs(e) >= INTEGER_GAP) return oneMinusZ(a, b, c, z);
  // Integer c - a - b: the two terms of 15.3.6 have poles that cancel, so use the logarithmic
  // formula; for m < 0 first apply Euler's (1-z)^(c-a-b) 2F1(c-a, c-b; c; z). Within INTEGER_GAP
  // of an integer, 15.3.6 loses digits to cancellation (~1e-16/gap), so interpolate linearly in c
  // between the integer point and c at distance INTEGER_GAP, where 15.3.6 is still accurate.
  const exact = m >= 0 ? logarithmicCase(a, b, m, z) : Math.pow(1 - z, m) * logarithmicCase(a + m, b + m, -m, z);
  if (e === 0) return exact;
  const step = Math.sign(e) * INTEGER_GAP;
  const near = oneMinusZ(a, b, a + b + m + step, z);
  return exact + ((near - exact) * e) / step;
}

function checkArgs(a: number, b: number, c: number, z: number): void {
  if (![a, b, c, z].every(Number.isFinite))
    throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}): arguments must be finite numbers`);
  if (isNonPositiveInteger(c)) throw new RangeError(`hyp2f1: c = ${c} is a pole (non-positive integer)`);
  if (z > 1) throw new RangeError(`hyp2f1: z = ${z} > 1 is on the branch cut; only real z <= 1 is supported`);
}

/**
 * Gauss hypergeometric function 2F1(a, b; c; z) for real arguments and real z <= 1.
 *
 * |z| <= 0.75 uses the defining series; 0.75 < z < 1 the z -> 1 - z transformation (with the
 * logarithmic formulas when c - a - b is an integer); z < 0 the Pfaff transformation to
 * z/(z - 1) in (0, 1); z = 1 Gauss's theorem. Throws a RangeError where the function is undefined
 * (c a pole, z > 1, or z = 1 with c - a - b <= 0).
 * @param a first numerator parameter
 * @param b second numerator parameter
 * @param c denominator parameter, not 0, -1, -2, ...
 * @param z argument, <= 1
 */
export function hyp2f1(a: number, b: number, c: number, z: number): number {
  checkArgs(a, b, c, z);
  if (z === 0 || a === 0 || b === 0) return 1;
  if (z === 1) {
    if (c - a - b <= 0) throw new RangeError(`hyp2f1: diverges at z = 1 when c - a - b = ${c - a - b} <= 0`);
    return gammaRatio(c, c - a - b, c - a, c - b);
  }
  if (z < 0) {
    if (z >= -SERIES_LIMIT) return 1 + seriesMinus1(a, b, c, z);
    // Pfaff: 2F1(a,b;c;z) = (1-z)^-a 2F1(a, c-b; c; z/(z-1)), mapping z < 0 into (0, 1).
    return Math.pow(1 - z, -a) * hyp2f1Unit(a, c - b, c, z / (z - 1));
  }
  return hyp2f1Unit(a, b, c, z);
}

/**
 * 2F1(a, b; c; z) - 1, accurate even when the result is tiny (small z), which the BG/NBD
 * expectations need to avoid cancellation in 1 - (1-z)^k 2F1(...). Same domain as {@link hyp2f1}.
 * @param a first numerator parameter
 * @param b second numerator parameter
 * @param c denominator parameter, not 0, -1, -2, ...
 * @param z argument, <= 1
 */
export function hyp2f1Minus1(a: number, b: number, c: number, z: number): number {
  checkArgs(a, b, c, z);
  if (z === 0 || a === 0 || b === 0) return 0;
  if (Math.abs(z) <= SERIES_LIMIT) return seriesMinus1(a, b, c, z);
  return hyp2f1(a, b, c, z) - 1;
}

/** Beyond this many terms the positive series gives way to the transformations (z very near 1). */
const LOG_SERIES_MAX_TERMS = 1_000_000;
const RESCALE = 1e200;
const LN_RESCALE = Math.log(RESCALE);

/**
 * ln 2F1(a, b; c; z) for a, b, c > 0 and 0 <= z < 1, where every series term is positive. The
 * series is summed with rescaling, so values far beyond the double range (say 2F1 = e^5000, as
 * with many purchases and large parameters) come out exact, and ln F = log1p(F - 1) keeps full
 * precision for small z. For z very near 1, where the series would need too many terms, the
 * transformations of {@link hyp2f1} are used; a RangeError is thrown if those overflow too.
 * @param a first numerator parameter, > 0
 * @param b second numerator parameter, > 0
 * @param c denominator parameter, > 0
 * @param z argument, 0 <= z < 1
 */
export function hyp2f1LogPositive(a: number, b: number, c: number, z: number): number {
  if (!(a > 0 && b > 0 && c > 0 && z >= 0 && z < 1 && a < Infinity && b < Infinity && c < Infinity)) {
    throw new RangeError(`hyp2f1LogPositive(${a}, ${b}; ${c}; ${z}): needs finite a, b, c > 0 and 0 <= z < 1`);
  }
  if (z === 0) return 0;
  if (z <= 0.99) {
    let term = 1;
    let head = 1; // the n = 0 term, rescaled along with the rest
    let sum = 0;
    let offset = 0;
    for (let n = 0; n < LOG_SERIES_MAX_TERMS; n++) {
      term *= (((a + n) * (b + n)) / ((c + n) * (n + 1))) * z;
      sum += term;
      if (term > RESCALE) {
        term /= RESCALE;
        sum /= RESCALE;
        head /= RESCALE;
        offset += LN_RESCALE;
      }
      const rho = (((a + n + 1) * (b + n + 1)) / ((c + n + 1) * (n + 2))) * z;
      if (rho < 1 && (term * rho) / (1 - rho) <= SERIES_EPS * (head + sum)) {
        return offset === 0 ? Math.log1p(sum) : offset + Math.log(head + sum);
      }
    }
  }
  const f = hyp2f1(a, b, c, z);
  if (!(f > 0 && f < Infinity))
    throw new RangeError(`hyp2f1(${a}, ${b}; ${c}; ${z}) is out of range for these parameters`);
  return Math.log(f);
}
