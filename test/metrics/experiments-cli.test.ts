/** `comeback stats` prints the path experiments and the programme against the control group; `--json` has them. */
import { describe, expect, it } from 'vitest';
import { runPathExperiment } from '../../src/demo/paths.js';
import { runProgrammeExperiment } from '../../src/demo/programme.js';
import type { StatsReport } from '../../src/metrics/types.js';
import { runCliInProcess } from '../helpers/cli.js';
import { sqliteUrl } from '../helpers/backends.js';

describe('comeback stats with experiments', () => {
  it('prints each cohort against the holdout and every corrected pair', async () => {
    const db = sqliteUrl();
    await runPathExperiment({
      database: db,
      seeds: [4],
      customers: 300,
      holdout: 0.2,
      baseline: 0.04,
      truths: { 'two-mails': 0.05, 'three-mails': 0.05, gift: 0.2 },
    });
    const { out } = await runCliInProcess(['--db', db, 'stats', 'paths-4']);
    expect(out).toContain(
      'paths-4: path experiment, 3 cohorts drawn at entry; pairs Bonferroni-corrected for 3 comparisons (each at 98.3%)',
    );
    expect(out).toMatch(/gift − two-mails\s+\+\d+\.\d pp\s+\[/);
    const json = JSON.parse((await runCliInProcess(['--db', db, 'stats', 'paths-4', '--json'])).out) as StatsReport;
    const paths = json.sequences[0]!.paths!;
    expect(paths.cohorts.map((c) => c.cohortId)).toEqual(['two-mails', 'three-mails', 'gift']);
    expect(paths.pairs).toHaveLength(3);
  }, 120_000);

  it('prints the programme against the control group', async () => {
    const db = sqliteUrl();
    await runProgrammeExperiment({
      database: db,
      seed: 2,
      runs: 2,
      customers: 300,
      controlShare: 0.3,
      baseline: 0.1,
      effect: 0.05,
    });
    const { out } = await runCliInProcess(['--db', db, 'stats']);
    expect(out).toMatch(/programme vs global control group .* orders within 30 days of a customer's first entry/);
    expect(out).toMatch(/conversion: programme \d+\.\d% \(\d+\/\d+\) vs control \d+\.\d% \(\d+\/\d+\)/);
    const json = JSON.parse((await runCliInProcess(['--db', db, 'stats', '--json'])).out) as StatsReport;
    expect(json.programme.uplift.available).toBe(true);
    expect(json.programme.uplift.mailed.enrolled + json.programme.uplift.holdout.enrolled).toBe(600);
  }, 120_000);
});
