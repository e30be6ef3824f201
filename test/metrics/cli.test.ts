import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { experimentSequence, runExperiment, type ExperimentResult } from '../../src/demo/experiment.js';
import type { StatsReport } from '../../src/index.js';
import { runCliInProcess } from '../helpers/cli.js';

const TRUTHS = {
  control: { conversion: 0.05 },
  gift: { conversion: 0.15 },
  'half-off': { conversion: 0.2, couponPercent: 50 },
};
let dir: string;
let config: string;
let run: ExperimentResult;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comeback-stats-cli-'));
  mkdirSync(join(dir, 'sequences'));
  writeFileSync(join(dir, 'sequences', 'experiment.yaml'), experimentSequence({ holdout: 0.2, truths: TRUTHS }));
  config = join(dir, 'comeback.config.json');
  writeFileSync(
    config,
    JSON.stringify({
      database: join(dir, 'shop.db'),
      sequencesDir: join(dir, 'sequences'),
      transport: { type: 'outbox', dir: join(dir, 'outbox') },
    }),
  );
  run = await runExperiment({
    database: join(dir, 'shop.db'),
    seed: 3,
    customers: 300,
    waves: 3,
    holdout: 0.2,
    holdoutConversion: 0.03,
    basketMinor: 4000,
    truths: TRUTHS,
  });
}, 60_000);

afterEach(() => vi.restoreAllMocks());

const cli = (...args: string[]) => runCliInProcess(['--config', config, ...args]);

describe('comeback stats and comeback resume', () => {
  it('prints the report as one JSON document with the same numbers the engine computed', async () => {
    const report = JSON.parse((await cli('stats', '--json')).out) as StatsReport;
    const s = report.sequences.find((x) => x.sequenceId === 'experiment')!;
    const expected = run.report.sequences[0]!;
    expect(s.funnel).toEqual(expected.funnel);
    expect(s.uplift).toEqual(expected.uplift);
    expect(s.steps).toEqual(expected.steps); // posteriors and allocation are seeded: the same on every call
    expect(report.recentlyReturned).toEqual(run.report.recentlyReturned);
    expect(report.since).toBeNull();
  });

  it('names the option whose time is not understood', async () => {
    await expect(cli('stats', '--at', '30d')).rejects.toThrow(
      'invalid --at: expected a date like 2026-03-01 or an ISO 8601 time like 2026-03-01T06:00:00Z, got "30d"',
    );
    await expect(cli('stats', '--at', 'tomorrow')).rejects.toThrow('invalid --at');
    await expect(cli('stats', '--since', 'soon')).rejects.toThrow(
      'invalid --since: expected a date like 2026-03-01 or a duration like 30d, got "soon"',
    );
  });

  it('prints tables with the uplift interval, each variant posterior and allocation', async () => {
    const { out } = await cli('stats', 'experiment');
    expect(out).toContain('uplift (conv.)');
    expect(out).toMatch(/uplift: mailed \d+\.\d% \(\d+\/\d+\) vs holdout/);
    // Every uplift comes with what the sizes can detect, in words.
    expect(out).toMatch(
      /\n  conversion: (significant; effects from \+\d+\.\d pp show 8 times in 10 at these sizes|not significant: too few in the holdout to see less than \+\d+\.\d pp)\n/,
    );
    expect(out).toMatch(
      /\n  revenue: (significant|not significant: too few in the holdout to see less than \+|no interval yet \(needs 2 buyers in each group\))/,
    );
    expect(out).toContain('net rev./send (posterior)');
    for (const v of ['control', 'gift', 'half-off']) expect(out).toMatch(new RegExp(`\\n\\s+${v}\\s`));
    expect(out).toContain('P(best)');
  });

  it('--since counts only later enrolments, as a date or a duration', async () => {
    const all = JSON.parse((await cli('stats', 'experiment', '--json')).out) as StatsReport;
    const later = JSON.parse((await cli('stats', 'experiment', '--json', '--since', '2026-03-05')).out) as StatsReport;
    expect(later.since).toBe('2026-03-05T00:00:00.000Z');
    expect(later.sequences[0]!.funnel.enrolled + later.sequences[0]!.funnel.holdout).toBeLessThan(
      all.sequences[0]!.funnel.enrolled + all.sequences[0]!.funnel.holdout,
    );
    expect(later.sequences[0]!.funnel.enrolled).toBeGreaterThan(0);
    const recent = JSON.parse((await cli('stats', '--json', '--since', '30d')).out) as StatsReport;
    expect(recent.sequences[0]!.funnel.enrolled).toBe(0); // the experiment ran in March 2026
    await expect(cli('stats', '--since', 'last tuesday')).rejects.toThrow(
      /expected a date like 2026-03-01 or a duration like 30d/,
    );
    await expect(cli('stats', 'experimnt')).rejects.toThrow(/Did you mean "experiment"/);
  });

  it('resume lifts a pause and says what it was', async () => {
    expect((await cli('resume', 'experiment')).out).toContain('experiment is not paused');
    const { createEngine } = await import('../../src/index.js');
    const engine = await createEngine({ database: join(dir, 'shop.db'), sequencesDir: join(dir, 'sequences') });
    try {
      await engine.ctx.k
        .updateTable('sequences')
        .set({ status: 'paused', paused_reason: 'deliverability guard: complaint rate 0.40%' })
        .where('id', '=', 'experiment')
        .execute();
    } finally {
      await engine.close();
    }
    const paused = JSON.parse((await cli('stats', 'experiment', '--json')).out) as StatsReport;
    expect(paused.sequences[0]).toMatchObject({
      status: 'paused',
      pausedReason: 'deliverability guard: complaint rate 0.40%',
    });
    expect((await cli('resume', 'experiment')).out).toContain(
      'experiment resumed (it was paused: deliverability guard: complaint rate 0.40%)',
    );
    const resumed = JSON.parse((await cli('stats', 'experiment', '--json')).out) as StatsReport;
    expect(resumed.sequences[0]).toMatchObject({ status: 'active', pausedReason: null });
  });

  it('pause stops a sequence by hand with a reason, until resume', async () => {
    expect((await cli('pause', 'experiment', '--reason', 'the offer ran out')).out).toBe(
      'experiment paused (the offer ran out): it enrols and sends nothing until comeback resume experiment\n',
    );
    expect((await cli('pause', 'experiment')).out).toBe(
      'experiment was paused already (the offer ran out); nothing to do\n',
    );
    const paused = JSON.parse((await cli('stats', 'experiment', '--json')).out) as StatsReport;
    expect(paused.sequences[0]).toMatchObject({ status: 'paused', pausedReason: 'the offer ran out' });
    expect((await cli('stats', 'experiment')).out).toMatch(/^! sequence experiment is paused \(the offer ran out\)/);
    await expect(cli('pause', 'experimnet')).rejects.toThrow(
      /sequence "experimnet" not found\. Did you mean "experiment"/,
    );
    expect((await cli('resume', 'experiment')).out).toContain('experiment resumed (it was paused: the offer ran out)');
  });

  it("experiment compares the report with the synthetic shop's truth", async () => {
    const db = join(dir, 'experiment.db');
    const { out } = await cli('--db', db, 'experiment', '--customers', '300', '--waves', '3', '--seed', '5');
    expect(out).toMatch(
      /uplift: true [+-]?\d+\.\d pp \(given who got which variant\), reported .* — (covered|NOT covered) by the 95% interval/,
    );
    expect(out).toMatch(/\n\s*gift\s+\d+\s+\d+\s+5\.00\s/);
    expect(out).toContain(`try: comeback --db ${db} stats experiment`);
  }, 60_000);
});
