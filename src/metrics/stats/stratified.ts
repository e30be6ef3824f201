/**
 * A difference of two conversion rates combined over strata (Mantel–Haenszel). When traffic
 * between two groups shifts over time while the rate itself drifts, pooling all enrolments
 * compares the groups at different times (Simpson's paradox); comparing them within each
 * stratum (an allocation epoch, in which both were drawn with the same shares) and combining
 * those differences removes that bias.
 *
 *   d = Σ wₛ (k₁ₛ/n₁ₛ − k₂ₛ/n₂ₛ) / Σ wₛ,  wₛ = n₁ₛ n₂ₛ / Nₛ
 *
 * Its variance is Sato's (1989), which stays consistent both with few large strata and with many
 * sparse ones (an epoch may hold a handful of enrolments of a starved cohort):
 *
 *   Var d = (d·P + Q) / W²,  W = Σ wₛ,
 *   P = Σ (n₁ₛ² k₂ₛ − n₂ₛ² k₁ₛ + n₁ₛ n₂ₛ (n₂ₛ − n₁ₛ)/2) / Nₛ²,
 *   Q = Σ (k₁ₛ (n₂ₛ − k₂ₛ) + k₂ₛ (n₁ₛ − k₁ₛ)) / (2Nₛ).
 *
 * With one stratum it is the plain difference with the Wald variance p₁q₁/n₁ + p₂q₂/n₂ at p₁ = p₂.
 */
import type { Interval } from './uplift.js';

/** Counts of the two groups in one stratum: conversions and enrolments. */
export interface Stratum {
  k1: number;
  n1: number;
  k2: number;
  n2: number;
}

/** The combined difference (group 1 − group 2), its standard error and interval; null without a stratum holding both groups. */
export function mantelHaenszelDifference(
  strata: readonly Stratum[],
  z: number,
): { difference: number; se: number; ci: Interval } | null {
  let w = 0;
  let num = 0;
  let p = 0;
  let q = 0;
  for (const s of strata) {
    if (s.n1 <= 0 || s.n2 <= 0) continue; // a stratum with one group only says nothing about the difference
    const n = s.n1 + s.n2;
    w += (s.n1 * s.n2) / n;
    num += (s.k1 * s.n2 - s.k2 * s.n1) / n;
    p += (s.n1 * s.n1 * s.k2 - s.n2 * s.n2 * s.k1 + (s.n1 * s.n2 * (s.n2 - s.n1)) / 2) / (n * n);
    q += (s.k1 * (s.n2 - s.k2) + s.k2 * (s.n1 - s.k1)) / (2 * n);
  }
  if (w === 0) return null;
  const d = num / w;
  const se = Math.sqrt(Math.max(0, d * p + q)) / w;
  return { difference: d, se, ci: [d - z * se, d + z * se] };
}
