/**
 * Seeded simulations that check the statistics against a known truth: the uplift intervals on
 * heavy-tailed (lognormal) order values, and the deliverability guard's false and timely
 * pauses, and the net-revenue bandit on heavy-tailed order values. Shared by the tests (fewer replications) and `npm run bench -- uplift` / `guard` (more).
 */
import { DEFAULT_GUARD_THRESHOLDS, guardLevel, type GuardThresholds } from './guard.js';
import { chooseVariant, thompsonAllocation, type BanditVariant } from './bandit.js';
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
    const conv = conversionUplift({
      treated: { n: s.mailed, conversions: mailed.buyers },
      holdout: { n: s.holdout, conversions: holdout.buyers },
    });
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
  for (const [mailed, holdout] of [
    [2000, 200],
    [18_000, 2000],
  ] as const) {
    for (const sigma of [1.5, 2]) {
      for (const effect of [true, false]) {
        const name = `${mailed}/${holdout} σ ${sigma} ${effect ? '+1 pp' : 'no effect'}`;
        out.push({
          name,
          scenario: { mailed, holdout, mailedRate: effect ? 0.05 : 0.04, holdoutRate: 0.04, medianValue: 4000, sigma },
        });
      }
    }
  }
  return out;
}

/** One guard scenario: a campaign of `mails` spread evenly over `days`, checked every `checkEveryMinutes`. */
export interface GuardScenario {
  kind: 'complaint' | 'hardBounce';
  /** True rate of complaints (or hard bounces) per mail. */
  rate: number;
  mails: number;
  days: number;
  checkEveryMinutes: number;
  /** "Paused in time" means paused by this many mails. */
  within: number;
}

/** Share of campaigns the guard paused at all, and within `within` mails. */
export interface GuardOutcome {
  campaigns: number;
  paused: number;
  pausedWithin: number;
  /** Median mails sent when a paused campaign paused (null when none paused). */
  medianMailsAtPause: number | null;
}

/**
 * Simulates `campaigns` seeded campaigns: mail i goes out in minute ⌊i · minutes / mails⌋, each is
 * a complaint (or bounce) with probability `rate`, and at the end of every check interval with
 * sends the guard judges the counts so far (the whole campaign fits the 30-day window).
 * Between events the evidence only falls, so only the first check after an event, and the first
 * with `minVolume` sends, can newly pause: those are the checks simulated (same outcome as checking
 * every interval, and fast enough for 100,000 campaigns). Events are drawn as geometric gaps.
 */
export function simulateGuard(
  s: GuardScenario,
  campaigns: number,
  seed: number,
  thresholds: GuardThresholds = DEFAULT_GUARD_THRESHOLDS,
): GuardOutcome {
  const rng = mulberry32(seed);
  const minutes = s.days * 24 * 60;
  const slot = (i: number) => Math.floor(Math.floor((i * minutes) / s.mails) / s.checkEveryMinutes);
  // checkAt[i]: the number of mails sent when the check after mail i runs (the end of its interval).
  const checkAt = new Int32Array(s.mails);
  for (let i = s.mails - 1; i >= 0; i--)
    checkAt[i] = i + 1 === s.mails || slot(i + 1) !== slot(i) ? i + 1 : checkAt[i + 1]!;
  const logMiss = Math.log1p(-s.rate);
  const gap = () => Math.floor(Math.log(1 - rng()) / logMiss); // mails before the next event
  const judge = (sent: number, events: number) =>
    guardLevel(
      s.kind === 'complaint'
        ? { sent, complaints: events, hardBounces: 0 }
        : { sent, complaints: 0, hardBounces: events },
      thresholds,
    ) === 'pause';
  const volumeCheck =
    thresholds.minVolume >= 1 && thresholds.minVolume <= s.mails ? checkAt[thresholds.minVolume - 1]! : Infinity;
  let paused = 0;
  let within = 0;
  const at: number[] = [];
  for (let c = 0; c < campaigns; c++) {
    let next = gap(); // index of the next event mail
    let events = 0;
    let volumeDone = false;
    let stop = -1;
    while (stop < 0) {
      const eventCheck = next < s.mails ? checkAt[next]! : Infinity;
      const when = Math.min(eventCheck, volumeDone ? Infinity : volumeCheck);
      if (when === Infinity) break;
      // Count every event sent by the time of this check.
      while (next < when) {
        events++;
        next += 1 + gap();
      }
      if (when >= volumeCheck) volumeDone = true;
      if (judge(when, events)) stop = when;
    }
    if (stop > 0) {
      paused++;
      if (stop <= s.within) within++;
      at.push(stop);
    }
  }
  at.sort((a, b) => a - b);
  return {
    campaigns,
    paused: paused / campaigns,
    pausedWithin: within / campaigns,
    medianMailsAtPause: at.length > 0 ? at[Math.floor(at.length / 2)]! : null,
  };
}

/** The guard's targets: 30-day campaigns of 20,000 mails checked every minute. */
export function guardScenarios(): {
  name: string;
  scenario: GuardScenario;
  target: { maxPaused?: number; minPausedWithin?: number };
}[] {
  const base = { mails: 20_000, days: 30, checkEveryMinutes: 1 };
  return [
    {
      name: 'complaints 0.1%',
      scenario: { ...base, kind: 'complaint', rate: 0.001, within: 20_000 },
      target: { maxPaused: 0.05 },
    },
    {
      name: 'complaints 0.5%',
      scenario: { ...base, kind: 'complaint', rate: 0.005, within: 2000 },
      target: { minPausedWithin: 0.95 },
    },
    {
      name: 'complaints 1%',
      scenario: { ...base, kind: 'complaint', rate: 0.01, within: 1000 },
      target: { minPausedWithin: 0.95 },
    },
    {
      name: 'hard bounces 2%',
      scenario: { ...base, kind: 'hardBounce', rate: 0.02, within: 20_000 },
      target: { maxPaused: 0.05 },
    },
    {
      name: 'hard bounces 10%',
      scenario: { ...base, kind: 'hardBounce', rate: 0.1, within: 500 },
      target: { minPausedWithin: 0.95 },
    },
  ];
}

/** A bandit scenario: two variants with known conversion rates and lognormal net values. */
export interface BanditScenario {
  sends: number;
  /** Sends between two recomputations of the shares (the worker recomputes on an interval, not per mail). */
  batch: number;
  rates: readonly [number, number];
  /** Median net value of each variant's orders (minor units), σ of the log shared. */
  medians: readonly [number, number];
  sigma: number;
  /** Posterior draws per recomputation. */
  draws: number;
}

/** Share of runs where one variant ended at ≥ 80% of the traffic, and where variant 2 ended with the larger share. */
export interface BanditOutcome {
  runs: number;
  oneAtLeast80: number;
  secondLarger: number;
}

/** Runs the net-revenue bandit `runs` times over `sends` sends each (seeded). */
export function simulateBandit(s: BanditScenario, runs: number, seed: number): BanditOutcome {
  const rng = mulberry32(seed);
  let dominant = 0;
  let second = 0;
  for (let r = 0; r < runs; r++) {
    const arms: BanditVariant[] = ['a', 'b'].map((id) => ({
      id,
      trials: 0,
      successes: 0,
      rewardSum: 0,
      rewardLog: { count: 0, sum: 0, sumSq: 0 },
    }));
    for (let sent = 0; sent < s.sends; sent += s.batch) {
      const allocation = thompsonAllocation(arms, { draws: s.draws, rng, minExplorationShare: 0.05 });
      for (let j = 0; j < s.batch && sent + j < s.sends; j++) {
        const i = chooseVariant(allocation, rng) === 'a' ? 0 : 1;
        const arm = arms[i]!;
        arm.trials++;
        if (rng() >= s.rates[i]!) continue;
        const l = Math.log(s.medians[i]!) + s.sigma * sampleNormal(rng);
        arm.successes++;
        arm.rewardSum! += Math.exp(l);
        arm.rewardLog!.count++;
        arm.rewardLog!.sum += l;
        arm.rewardLog!.sumSq += l * l;
      }
    }
    const final = thompsonAllocation(arms, { draws: 2000, rng, minExplorationShare: 0.05 });
    if (Math.max(final[0]!.share, final[1]!.share) >= 0.8) dominant++;
    if (final[1]!.share > final[0]!.share) second++;
  }
  return { runs, oneAtLeast80: dominant / runs, secondLarger: second / runs };
}
