/**
 * Path experiments: a sequence whose last step splits into random cohorts, each running its own
 * steps to the end. The step machine works on one flat index over every step of every path: the
 * steps before the split keep their positions, then each cohort's steps follow, cohort after
 * cohort. An enrolment's cohort is drawn once, at enrolment, and stored; from there on the
 * machine only moves along that cohort's stretch of the index.
 */
import { DAY } from '../clock.js';
import { unitDraw } from '../util/hash.js';
import { parseDuration } from './duration.js';
import type { CohortStep, Sequence, Step } from './schema.js';

/** The flat view of a sequence's paths. */
export interface SequencePaths {
  /** Every step that sends, in flat order: the steps before the split, then each cohort's steps. */
  steps: (Step | CohortStep)[];
  /** The cohort of each flat step; null before the split. */
  cohortOf: (string | null)[];
  /** Flat index where the split was (the number of steps before it); null without a split. */
  splitAt: number | null;
  /** Each cohort: id, share of entrants (as written), first and one-past-last flat index. */
  cohorts: { id: string; share: number; start: number; end: number }[];
  /**
   * How entrants are split: `fixed` keeps the written shares; `adaptive` lets the optimiser move
   * them once every cohort has `adaptAfter` matured enrolments. Default: fixed when the YAML gives
   * shares (the marketer chose them), else adaptive.
   */
  allocation: 'fixed' | 'adaptive';
  /** Adaptive: matured enrolments each cohort needs before the shares move. */
  adaptAfter: number;
}

/** A cohort's share of entrants, as passed to `drawCohort`. */
export interface CohortShare {
  id: string;
  share: number;
}

const cache = new WeakMap<Sequence, SequencePaths>();

/** The flat paths of a sequence (computed once per definition). */
export function sequencePaths(seq: Sequence): SequencePaths {
  let p = cache.get(seq);
  if (p) return p;
  const splitIndex = seq.steps.findIndex((s) => s.split);
  if (splitIndex < 0) {
    const none = { allocation: 'fixed' as const, adaptAfter: 0 };
    p = { steps: seq.steps, cohortOf: seq.steps.map(() => null), splitAt: null, cohorts: [], ...none };
  } else {
    const steps: (Step | CohortStep)[] = seq.steps.slice(0, splitIndex);
    const cohortOf: (string | null)[] = steps.map(() => null);
    const split = seq.steps[splitIndex]!.split!;
    const given = split.cohorts;
    const total = given.reduce((a, c) => a + (c.share ?? 1 / given.length), 0);
    const cohorts = given.map((c) => {
      const start = steps.length;
      steps.push(...c.steps);
      cohortOf.push(...c.steps.map(() => c.id));
      return { id: c.id, share: (c.share ?? 1 / given.length) / total, start, end: steps.length };
    });
    const allocation = split.allocation ?? (given.some((c) => c.share !== undefined) ? 'fixed' : 'adaptive');
    p = { steps, cohortOf, splitAt: splitIndex, cohorts, allocation, adaptAfter: split.adapt_after };
  }
  cache.set(seq, p);
  return p;
}

/** The step at a flat index (undefined past the end). */
export function stepAt(seq: Sequence, index: number): Step | CohortStep | undefined {
  return sequencePaths(seq).steps[index];
}

/** The step with this id anywhere on the sequence's paths. */
export function findStep(seq: Sequence, stepId: string): Step | CohortStep | undefined {
  return sequencePaths(seq).steps.find((s) => s.id === stepId);
}

/**
 * Draws the cohort of an enrolment: a stable draw per (sequence, version, customer), split by the
 * given shares (the written ones by default; an adaptive split passes the optimiser's current
 * shares, so enrolment, the worker and `comeback simulate` draw alike). Null without a split.
 */
export function drawCohort(
  seq: Sequence,
  customerKey: string | number,
  shares: readonly CohortShare[] = sequencePaths(seq).cohorts,
): string | null {
  if (sequencePaths(seq).cohorts.length === 0 || shares.length === 0) return null;
  return cohortAt(shares, unitDraw(`cohort|${seq.id}|${seq.version}|${customerKey}`));
}

/** The cohort a uniform draw `u` in [0, 1) falls into under these shares (summing to 1). */
export function cohortAt(shares: readonly CohortShare[], u: number): string {
  let acc = 0;
  for (const c of shares) {
    acc += c.share;
    if (u < acc) return c.id;
  }
  return shares[shares.length - 1]!.id;
}

/**
 * How long after enrolment an enrolment has matured: both its longest path (the waits before the
 * split plus the longest cohort's waits) and its goal window (counted from enrolment, as
 * attribution counts it; 30 days without a goal window) are over. The same horizon for every
 * cohort, so a cohort with shorter waits cannot look better just because it converts earlier.
 */
export function maturityOf(seq: Sequence): number {
  const p = sequencePaths(seq);
  const waits = (steps: readonly { wait: string }[]) => steps.reduce((a, s) => a + parseDuration(s.wait), 0);
  const before = waits(p.steps.slice(0, p.splitAt ?? p.steps.length));
  const longest = Math.max(0, ...p.cohorts.map((c) => waits(p.steps.slice(c.start, c.end))));
  const window = seq.goal?.purchase ? parseDuration(seq.goal.purchase.within) : 30 * DAY;
  return Math.max(before + longest, window);
}

/**
 * The flat index after `index` for an enrolment in `cohort`: the next step before the split, the
 * cohort's first step right after it, the next step of the cohort, or null at the end of its path.
 * An enrolment without a cohort (one from before the split existed) takes the first cohort.
 */
export function nextIndex(seq: Sequence, index: number, cohort: string | null | undefined): number | null {
  const p = sequencePaths(seq);
  if (p.splitAt === null) return index + 1 < p.steps.length ? index + 1 : null;
  if (index + 1 < p.splitAt) return index + 1;
  if (index < p.splitAt) return cohortRange(p, cohort).start;
  const own = p.cohorts.find((c) => index >= c.start && index < c.end);
  return own && index + 1 < own.end ? index + 1 : null;
}

/** The flat index of an enrolment's first step. */
export function firstIndex(seq: Sequence, cohort: string | null | undefined): number {
  const p = sequencePaths(seq);
  return p.splitAt === 0 ? cohortRange(p, cohort).start : 0;
}

function cohortRange(p: SequencePaths, cohort: string | null | undefined) {
  return p.cohorts.find((c) => c.id === cohort) ?? p.cohorts[0]!;
}
