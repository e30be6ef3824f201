import { Command, Option } from 'commander';
import { runExperiment } from '../../demo/experiment.js';
import { runZeroEffect } from '../../demo/zero-effect.js';
import { pathsScenario, programmeScenario } from './experiment-scenarios.js';
import { InputError } from '../../errors.js';
import { formatTable } from '../../util/table.js';
import { pct, upliftCell } from '../format/report.js';

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n <= 0) throw new InputError('number', [`expected a positive whole number, got "${v}"`]);
  return n;
};

/** The shop's truth of `comeback experiment`: best conversion is half-off, best net revenue per send is gift. */
const TRUTHS = {
  control: { conversion: 0.04 },
  gift: { conversion: 0.1 },
  'half-off': { conversion: 0.14, couponPercent: 50 },
};

/** `comeback experiment`: the metrics checked against a synthetic shop whose true effects are known. */
export function register(program: Command): void {
  program
    .command('experiment')
    .description(
      'run a seeded synthetic shop with known true effects per variant through the engine and compare the report with the truth (docs/METRICS.md)',
    )
    .addOption(new Option('--customers <n>', 'synthetic customers').default(2000).argParser(int))
    .addOption(
      new Option('--waves <n>', 'enrolment waves, a week apart (the bandit learns between them)')
        .default(10)
        .argParser(int),
    )
    .addOption(
      new Option('--seed <n>', 'random seed (with --zero-effect: the first of --seeds)').default(7).argParser(int),
    )
    .option(
      '--zero-effect',
      'no true effect at all (coupons on, 15% unsubscribes, heavy-tailed order values): count how often the report calls the uplift significant',
    )
    .addOption(
      new Option('--seeds <n>', 'with --zero-effect or --paths: independent shops, side by side')
        .default(40)
        .argParser(int),
    )
    .option(
      '--programme',
      'the whole programme against the global control group: coverage of a true +2 pp and false "significant" at no effect over many runs',
    )
    .addOption(new Option('--runs <n>', 'with --programme: independent runs per scenario').default(400).argParser(int))
    .option(
      '--paths',
      'a path experiment (two mails, three mails, a gift): how often the truly better cohort wins its corrected pairwise comparison; then an adaptive split: its shares day by day and seeded coverage under drift',
    )
    .action(
      async (
        cmdOpts: {
          customers: number;
          waves: number;
          seed: number;
          zeroEffect?: boolean;
          seeds: number;
          programme?: boolean;
          paths?: boolean;
          runs: number;
        },
        cmd: Command,
      ) => {
        // The global --db names the experiment's SQLite file (recreated on every run).
        const opts = { ...cmdOpts, db: cmd.optsWithGlobals<{ db?: string }>().db ?? '.comeback/experiment.db' };
        if (/^postgres(ql)?:/i.test(opts.db))
          throw new InputError('experiment database', [
            'the experiment recreates its database: pass a SQLite file path',
          ]);
        const { mkdirSync, rmSync } = await import('node:fs');
        const { dirname } = await import('node:path');
        mkdirSync(dirname(opts.db), { recursive: true });
        rmSync(opts.db, { force: true });
        const given = (name: string) => cmd.getOptionValueSource(name) !== 'default';
        if (opts.programme) {
          process.stdout.write(
            await programmeScenario({
              db: opts.db,
              seed: opts.seed,
              runs: opts.runs,
              customers: given('customers') ? opts.customers : 100,
            }),
          );
          return;
        }
        if (opts.paths) {
          process.stdout.write(
            await pathsScenario({
              db: opts.db,
              seed: opts.seed,
              seeds: opts.seeds,
              customers: given('customers') ? opts.customers : 1340,
            }),
          );
          return;
        }
        if (opts.zeroEffect) {
          const customers = given('customers') ? opts.customers : 300;
          const seeds = Array.from({ length: opts.seeds }, (_, i) => opts.seed + i);
          const results = await runZeroEffect({ database: opts.db, seeds, customers, holdout: 0.5 });
          const yes = (b: boolean) => (b ? 'SIGNIFICANT' : 'no');
          const rows = results.map((r) => [
            r.seed,
            r.uplift.mailed.enrolled,
            r.uplift.holdout.enrolled,
            upliftCell(r.uplift),
            yes(r.uplift.significant),
            yes(r.uplift.revenueSignificant),
            r.couponOrders,
            r.unsubscribed,
          ]);
          const count = (f: (u: (typeof results)[number]['uplift']) => boolean) =>
            results.filter((r) => f(r.uplift)).length;
          process.stdout.write(
            [
              `no true effect: mailed and holdout buy alike (lognormal order values, σ 1.5); the mail has a 20% coupon valid 60 days (goal: 14 days, half the former basket); 15% of the mailed unsubscribe`,
              '',
              formatTable(
                ['seed', 'mailed', 'holdout', 'uplift', 'conversion', 'revenue', 'coupon orders', 'unsubscribed'],
                rows,
              ),
              '',
              `significant (95%): conversion in ${count((u) => u.significant)} of ${results.length} seeds, revenue in ${count((u) => u.revenueSignificant)} of ${results.length} (about 5% is chance)`,
            ].join('\n') + '\n',
          );
          return;
        }
        const r = await runExperiment({
          database: opts.db,
          seed: opts.seed,
          customers: opts.customers,
          waves: opts.waves,
          holdout: 0.2,
          holdoutConversion: 0.02,
          basketMinor: 5000,
          truths: TRUTHS,
        });
        const s = r.report.sequences[0]!;
        const u = s.uplift;
        const covered =
          u.absoluteCi95 !== null && u.absoluteCi95[0] <= r.trueUplift && r.trueUplift <= u.absoluteCi95[1];
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
              v.netRevenuePerSendPosterior
                ? `${(v.netRevenuePerSendPosterior.mean / 100).toFixed(2)} [${(v.netRevenuePerSendPosterior.ci95[0] / 100).toFixed(2)}, ${(v.netRevenuePerSendPosterior.ci95[1] / 100).toFixed(2)}]`
                : '–',
              pct(v.probabilityBest),
              pct(v.allocation),
            ]),
          ),
          '',
          `database: ${opts.db} — try: comeback --db ${opts.db} stats experiment`,
        ];
        process.stdout.write(`${out.join('\n')}\n`);
      },
    );
}
