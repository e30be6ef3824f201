import { describe, expect, it } from 'vitest';
import { runAdaptivePathExperiment } from '../../src/demo/adaptive-paths.js';
import { runPathExperiment } from '../../src/demo/paths.js';
import { runProgrammeExperiment } from '../../src/demo/programme.js';
import { postgresUrl, sqliteUrl } from '../helpers/backends.js';

/** The programme and path reports are the same on SQLite and PostgreSQL: every draw is a stable hash. */
describe('experiments on SQLite and PostgreSQL', () => {
  it('gives the same programme report on both', async () => {
    const o = { runs: 4, customers: 120, controlShare: 0.3, baseline: 0.1, effect: 0.05, seed: 5 };
    const lite = await runProgrammeExperiment({ ...o, database: sqliteUrl() });
    const pg = await runProgrammeExperiment({ ...o, database: await postgresUrl() });
    for (const [i, r] of lite.entries()) {
      const u = r.report.uplift;
      const v = pg[i]!.report.uplift;
      expect(v.mailed).toEqual(u.mailed);
      expect(v.holdout).toEqual(u.holdout);
      expect(v.absoluteCi95).toEqual(u.absoluteCi95);
      if (u.revenuePerEnrolledDifferenceCi95) {
        expect(v.revenuePerEnrolledDifferenceCi95![0]).toBeCloseTo(u.revenuePerEnrolledDifferenceCi95[0], 6);
        expect(v.revenuePerEnrolledDifferenceCi95![1]).toBeCloseTo(u.revenuePerEnrolledDifferenceCi95[1], 6);
      }
      expect(pg[i]!.report.netRevenue.differenceMinor).toBeCloseTo(r.report.netRevenue.differenceMinor!, 6);
    }
  }, 120_000);

  it('gives the same path report on both', async () => {
    const o = {
      seeds: [1, 2],
      customers: 200,
      holdout: 0.2,
      baseline: 0.05,
      truths: { 'two-mails': 0.05, 'three-mails': 0.08, gift: 0.15 },
    };
    const lite = await runPathExperiment({ ...o, database: sqliteUrl() });
    const pg = await runPathExperiment({ ...o, database: await postgresUrl() });
    for (const [i, r] of lite.entries()) {
      expect(pg[i]!.paths.pairs).toEqual(r.paths.pairs);
      expect(pg[i]!.paths.cohorts.map((c) => c.uplift.mailed)).toEqual(r.paths.cohorts.map((c) => c.uplift.mailed));
    }
  }, 120_000);

  it('moves adaptive cohort shares alike on both', async () => {
    const o = {
      seed: 4,
      days: 14,
      perDay: 20,
      truths: { mail: 0.05, gift: 0.4 },
      goalDays: 5,
      adaptAfter: 10,
      holdout: { share: 0.2, rate: 0.02 },
    };
    const lite = await runAdaptivePathExperiment({ ...o, database: sqliteUrl() });
    const pg = await runAdaptivePathExperiment({ ...o, database: await postgresUrl() });
    expect(lite.days.some((d) => d.adaptive)).toBe(true);
    expect(pg.days).toEqual(lite.days);
    expect(pg.paths).toEqual(lite.paths);
  }, 120_000);
});
