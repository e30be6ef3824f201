/**
 * Seeded simulations that check the statistics against a known truth: the uplift intervals on
 * heavy-tailed (lognormal) order values. Shared by the tests (few replications) and
 * `npm run bench -- uplift` (many).
 */
import { mulberry32, sampleNormal, type Rng } from './random.js';
import { conversionUplift, revenueUplift, welchRevenueUplift, type Interval } from './uplift.js';

/** One uplift scenario: group sizes, true conversion rates and lognormal order values. */
export interface UpliftScenario {
  mailed: number;
  holdout: number;
  /** True conversion rate of the mailed group and of the holdout. */
  mailedRate: number;
  holdoutRate: number;
  /** Median order value (minor units) and σ of its log. */
  medianValue: number;
  sigma: number;
}

/** How often each interval covered the truth and how often it claimed "significant". */
export interface UpliftCoverage {
  replications: number;
  /** Conversion (Newcombe): share of replications whose interval covered the true difference. */
  conversionCoverage: number;
  conversionSignificant: number;
  /** Revenue per enrollee, two-part lognormal MOVER interval (the product's method). */
  revenueCoverage: number;
  revenueSignificant: number;
  /** Replications where the revenue interval was unavailable (fewer than 2 buyers in a group). */
  revenueUnavailable: number;
  /** The same for Welch's t interval, the textbook baseline. */
  welchCoverage: number;
  welchSignificant: number;
}

/** True difference in mean revenue per enrollee of a scenario. */
export function trueRevenueDifference(s: UpliftScenario): number {
  const theta = s.medianValue * Math.exp((s.sigma * s.sigma) / 2);
  return (s.mailedRate - s.holdoutRate) * theta;
}

/** Runs `replications` seeded replications of a scenario and counts coverage and "significant" claims. */
export function simulateUplift(s: UpliftScenario, replications: number, seed: number): UpliftCoverage {
  const rng = mulberry32(seed);
  const trueConv = s.mailedRate - s.holdoutRate;
  const trueRev = trueRevenueDifference(s);
  const c = { conv: 0, convSig: 0, rev: 0, revSig: 0, revNa: 0, welch: 0, welchSig: 0 };
  const covers = (ci: Interval, x: number) => ci[0] <= x && x <= ci[1];
  for (let r = 0; r < replications; r++) {
    const mailed = group(s.mailed, s.mailedRate, s, rng);
    const holdout = group(s.holdout, s.holdoutRate, s, rng);
    const conv = conversionUplift({ treated: { n: s.mailed, conversions: mailed.buyers }, holdout: { n: s.holdout, conversions: holdout.buyers } });
    if (conv.available) {
      if (covers(conv.ci95, trueConv)) c.conv++;
      if (conv.significant) c.convSig++;
    }
    const rev = revenueUplift({ treated: mailed, holdout });
    if (rev.available) {
      if (covers(rev.ci95, trueRev)) c.rev++;
      if (rev.significant) c.revSig++;
    } else c.revNa++;
    const welch = welchRevenueUplift({ treated: mailed, holdout });
    if (welch.available) {
      if (covers(welch.ci95, trueRev)) c.welch++;
      if (welch.significant) c.welchSig++;
    }
  }
  const n = replications;
  const withRev = n - c.revNa;
  return {
    replications: n,
    conversionCoverage: c.conv / n,
    conversionSignificant: c.convSig / n,
    revenueCoverage: withRev > 0 ? c.rev / withRev : NaN,
    revenueSignificant: c.revSig / n,
    revenueUnavailable: c.revNa,
    welchCoverage: c.welch / n,
    welchSignificant: c.welchSig / n,
  };
}

/** The sufficient statistics of one simulated group (non-buyers spend 0). */
function group(n: number, rate: number, s: UpliftScenario, rng: Rng) {
  const mu = Math.log(s.medianValue);
  const g = { n, sum: 0, sumSq: 0, buyers: 0, logSum: 0, logSumSq: 0 };
  for (let i = 0; i < n; i++) {
    if (rng() >= rate) continue;
    const l = mu + s.sigma * sampleNormal(rng);
    const v = Math.exp(l);
    g.buyers++;
    g.sum += v;
    g.sumSq += v * v;
    g.logSum += l;
    g.logSumSq += l * l;
  }
  return g;
}

/**
 * The scenarios of the issue at hand for a shop: 2,000 mailed / 200 holdout and 18,000 / 2,000,
 * order values lognormal with σ 1.5 and 2 (median 40.00), the mail lifting conversion from 4% to
 * 5% (`effect`) or not at all.
 */
export function upliftScenarios(): { name: string; scenario: UpliftScenario }[] {
  const out: { name: string; scenario: UpliftScenario }[] = [];
  for (const [mailed, holdout] of [[2000, 200], [18_000, 2000]] as const) {
    for (const sigma of [1.5, 2]) {
      for (const effect of [true, false]) {
        const name = `${mailed}/${holdout} σ ${sigma} ${effect ? '+1 pp' : 'no effect'}`;
        out.push({ name, scenario: { mailed, holdout, mailedRate: effect ? 0.05 : 0.04, holdoutRate: 0.04, medianValue: 4000, sigma } });
      }
    }
  }
  return out;
}
