/**
 * Adaptive path experiments through the real engine (ManualClock, SQLite): customers enter day
 * after day; the written 50/50 shares hold until each cohort has `adapt_after` matured
 * enrolments, then the shares move to the cohort that brings more net revenue, each draw stored
 * with its share and epoch, and the report compares the cohorts within epochs.
 */
import { describe, expect, it } from 'vitest';
import { runAdaptivePathExperiment } from '../../src/demo/adaptive-paths.js';
import { sqliteUrl } from '../helpers/backends.js';

describe('adaptive cohort shares through the engine', () => {
  it('keeps the written shares until outcomes mature, then sends most entrants to the better cohort', async () => {
    const run = await runAdaptivePathExperiment({
      database: sqliteUrl(),
      seed: 3,
      days: 24,
      perDay: 20,
      truths: { mail: 0.05, gift: 0.4 },
      goalDays: 7,
      adaptAfter: 20,
      holdout: { share: 0.2, rate: 0.02 },
    });
    // Nothing has matured in the first week (7-day goal window): the written shares, no epoch.
    for (const d of run.days.slice(0, 8)) {
      expect(d.adaptive).toBe(false);
      expect(d.storedGiftShare).toBe(0.5);
    }
    const late = run.days.slice(-10);
    for (const d of late) {
      expect(d.adaptive).toBe(true);
      expect(d.storedGiftShare!).toBeGreaterThan(0.8);
    }
    const drawn = late.reduce((a, d) => a + d.giftShare, 0) / late.length;
    expect(drawn).toBeGreaterThan(0.8);
    // The report shows the current shares and compares within allocation epochs.
    const p = run.paths;
    expect(p.allocation).toBe('adaptive');
    expect(p.pairMethod).toBe('stratified');
    const gift = p.cohorts.find((c) => c.cohortId === 'gift')!;
    const mail = p.cohorts.find((c) => c.cohortId === 'mail')!;
    // On net revenue one large order of the few mail buyers keeps some doubt (heavy tails).
    expect(gift.share).toBeGreaterThan(0.5);
    expect(mail.share).toBeGreaterThanOrEqual(0.05 - 1e-9);
    expect(gift.share + mail.share).toBeCloseTo(1, 9);
    expect(gift.probabilityBest!).toBeGreaterThan(0.5);
    expect(gift.matured).toBeGreaterThan(200);
    // Against the holdout, within epochs too (the pooled uplift mixes early and late entrants).
    expect(gift.vsHoldoutStratified!.ci95[0]).toBeGreaterThan(0);
    expect(mail.vsHoldoutStratified).not.toBeNull();
    expect(p.pairs[0]).toMatchObject({ a: 'mail', b: 'gift', significant: true, better: 'gift' });
  }, 60_000);
});
