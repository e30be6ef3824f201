import { Command, Option } from 'commander';
import { runExperiment } from '../../demo/experiment.js';
import { InputError } from '../../errors.js';
import { formatTable } from '../../util/table.js';
import { pct, upliftCell } from '../format/report.js';

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n <= 0) throw new InputError('number', [`expected a positive whole number, got "${v}"`]);
  return n;
};

/** The shop's truth of `comeback experiment`: best conversion is half-off, best net revenue per send is gift. */
const TRUTHS = { control: { conversion: 0.04 }, gift: { conversion: 0.1 }, 'half-off': { conversion: 0.14, couponPercent: 50 } };

/** `comeback experiment`: the metrics checked against a synthetic shop whose true effects are known. */
export function register(program: Command): void {
  program
    .command('experiment')
    .description('run a seeded synthetic shop with known true effects per variant through the engine and compare the report with the truth (docs/METRICS.md)')
    .addOption(new Option('--customers <n>', 'synthetic customers').default(2000).argParser(int))
    .addOption(new Option('--waves <n>', 'enrolment waves, a week apart (the bandit learns between them)').default(10).argParser(int))
    .addOption(new Option('--seed <n>', 'random seed').default(7).argParser(int))
    .action(async (cmdOpts: { customers: number; waves: number; seed: number }, cmd: Command) => {
      // The global --db names the experiment's SQLite file (recreated on every run).
      const opts = { ...cmdOpts, db: cmd.optsWithGlobals<{ db?: string }>().db ?? '.comeback/experiment.db' };
      if (/^postgres(ql)?:/i.test(opts.db)) throw new InputError('experiment database', ['the experiment recreates its database: pass a SQLite file path']);
      const { mkdirSync, rmSync } = await import('node:fs');
      const { dirname } = await import('node:path');
      mkdirSync(dirname(opts.db), { recursive: true });
      rmSync(opts.db, { force: true });
      const r = await runExperiment({ database: opts.db, seed: opts.seed, customers: opts.customers, waves: opts.waves, holdout: 0.2, holdoutConversion: 0.02, basketMinor: 5000, truths: TRUTHS });
      const s = r.report.sequences[0]!;
      const u = s.uplift;
      const covered = u.absoluteCi95 !== null && u.absoluteCi95[0] <= r.trueUplift && r.trueUplift <= u.absoluteCi95[1];
      const out = [
        `true conversion: control 4%, gift 10%, half-off 14% with a 50% coupon; holdout 2%; basket 50.00`,
        `uplift: true ${(r.trueUplift * 100).toFixed(1)} pp (given who got which variant), reported ${upliftCell(u)} — ${covered ? 'covered' : 'NOT covered'} by the 95% interval`,
        '',
        formatTable(
          ['variant', 'sends', 'conversions', 'true net/send', 'posterior net/send', 'P(best)', 'allocation now'],
          s.steps[0]!.variants.map((v) => [
            v.label,
            v.trials,
            v.successes,
            (r.trueNetPerSend[v.label]! / 100).toFixed(2),
            v.netRevenuePerSendPosterior ? `${(v.netRevenuePerSendPosterior.mean / 100).toFixed(2)} [${(v.netRevenuePerSendPosterior.ci95[0] / 100).toFixed(2)}, ${(v.netRevenuePerSendPosterior.ci95[1] / 100).toFixed(2)}]` : '–',
            pct(v.probabilityBest),
            pct(v.allocation),
          ]),
        ),
        '',
        `database: ${opts.db} — try: npx comeback --db ${opts.db} stats experiment`,
      ];
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
