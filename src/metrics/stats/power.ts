/**
 * Power: the smallest uplift a comparison of the current sizes would detect (two-sided 5% test,
 * 80% power), so a "not significant" can be read as "too few to see less than +4.1 pp" rather
 * than as "no effect", and a holdout too small to ever show anything is caught before sending.
 */
import { normalQuantile } from './distributions.js';
import type { Interval } from './uplift.js';

const Z95 = normalQuantile(0.975);
/** z(0.975) + z(0.80) = 2.8016: the detectable effect in standard errors. */
const Z_DETECT = Z95 + normalQuantile(0.8);

/** What a win-back mail plausibly adds to conversion: +2 percentage points (typical range +1 to +3). */
export const PLAUSIBLE_EFFECT = 0.02;

/**
 * Minimum detectable difference of conversion rates between groups of n₁ and n₂ at baseline
 * rate p: (z₀.₉₇₅ + z₀.₈₀) · √(p(1−p)(1/n₁ + 1/n₂)). A baseline of 0 is taken as one conversion
 * in all enrolments (a rate of exactly 0 would claim anything is detectable).
 */
export function conversionMde(baseline: number, n1: number, n2: number): number {
  if (!(n1 > 0 && n2 > 0)) return Infinity;
  const p = Math.min(1 - 1 / (n1 + n2), Math.max(baseline, 1 / (n1 + n2)));
  return Z_DETECT * Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
}

/** Minimum detectable effect behind a 95% interval: its mean half-width × (z₀.₉₇₅ + z₀.₈₀) / z₀.₉₇₅. */
export function mdeFromInterval(ci: Interval): number {
  return ((ci[1] - ci[0]) / 2) * (Z_DETECT / Z95);
}

/**
 * A plain verdict: "significant; effects from +4.1 pp show 8 times in 10 at these sizes", or
 * "not significant: too few in the holdout to see less than +4.1 pp" (`effect` is the formatted MDE).
 */
export function powerVerdict(significant: boolean, effect: string, mailed: number, holdout: number): string {
  if (significant) return `significant; effects from ${effect} show 8 times in 10 at these sizes`;
  return `not significant: too few ${holdout <= mailed ? 'in the holdout' : 'mailed'} to see less than ${effect}`;
}

/**
 * Can a holdout of `share` of an audience of `audience` enrolments ever show an effect of
 * `effect` over a baseline conversion `baseline`? Null when it can; otherwise the detectable
 * effect at that share and the smallest share that would detect `effect` (null when even an even
 * split cannot: the audience is too small to measure an uplift of that size).
 */
export function holdoutAdvice(
  audience: number,
  share: number,
  baseline: number,
  effect: number = PLAUSIBLE_EFFECT,
): { mde: number; neededShare: number | null } | null {
  const holdout = Math.round(audience * share);
  const mde = conversionMde(baseline, audience - holdout, holdout);
  if (mde <= effect) return null;
  const p = Math.min(0.5, Math.max(baseline, 1 / Math.max(1, audience)));
  // 1/n₁ + 1/n₂ = 1/(N·h·(1−h)) ≤ R = (effect / z)² / (p(1−p))  ⇔  h(1−h) ≥ 1/(N·R)
  const r = (effect / Z_DETECT) ** 2 / (p * (1 - p));
  const q = 1 / (audience * r);
  if (!(q <= 0.25)) return { mde, neededShare: null };
  return { mde, neededShare: Math.ceil(((1 - Math.sqrt(1 - 4 * q)) / 2) * 100) / 100 };
}
