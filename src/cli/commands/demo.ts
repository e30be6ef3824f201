import { Command, Option } from 'commander';
import { serveDemoDashboard } from '../../dashboard/demo-server.js';
import { DAY } from '../../clock.js';
import { demoSources } from '../../demo/examples.js';
import { DEMO_START, runDemo } from '../../demo/run.js';
import { overviewTable } from '../format/report.js';

const int = (v: string) => {
  const n = Number.parseInt(v, 10);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive whole number, got "${v}"`);
  return n;
};

/** Where the demo keeps its SQLite file unless `--db` says otherwise. */
export const DEMO_DB = '.comeback/demo.db';

/** `comeback demo` — the main job of `npm start`. */
export function register(program: Command): void {
  program
    .command('demo')
    .description('run a synthetic shop through the example sequences on an accelerated clock and print what happened')
    .addOption(new Option('--customers <n>', 'synthetic customers').default(500).argParser(int))
    .addOption(new Option('--days <n>', 'simulated days').default(60).argParser(int))
    .option('--out <dir>', 'where the .eml files go', 'outbox')
    .addOption(new Option('--seed <n>', 'random seed (same seed, same run)').default(42).argParser(int))
    .option('--sequences <dir>', 'sequence folder (default: ./sequences, else the examples shipped with Comeback)')
    .option('--templates <dir>', 'template folder (default: ./templates, else the examples shipped with Comeback)')
    .option('--no-serve', 'exit after the summary instead of serving the dashboard')
    .action(
      async (
        cmdOpts: {
          customers: number;
          days: number;
          out: string;
          seed: number;
          serve: boolean;
          sequences?: string;
          templates?: string;
        },
        cmd: Command,
      ) => {
        // The global --db names the demo's SQLite file (recreated on every run).
        const { sequences, templates, ...rest } = cmdOpts;
        const opts = {
          ...rest,
          ...demoSources({ sequencesDir: sequences, templatesDir: templates }),
          db: cmd.optsWithGlobals<{ db?: string }>().db ?? DEMO_DB,
        };
        const started = performance.now();
        const log = (line: string) => process.stderr.write(`${line}\n`);
        log(`Comeback demo: ${opts.customers} customers, ${opts.days} days, seed ${opts.seed}`);
        log(`sequences from ${opts.sequencesDir}, templates from ${opts.templatesDir}`);
        const result = await runDemo({ ...opts, progress: log, keepOpen: opts.serve });
        process.stdout.write(`\n${overviewTable(result.report)}\n\n`);
        process.stdout.write(`${result.emlFiles} mails written to ${opts.out}/ (open any .eml in a mail client)\n`);
        // The demo ran on a simulated clock; its rolling windows end on the last simulated day, not today.
        const end = new Date(DEMO_START + opts.days * DAY).toISOString();
        process.stdout.write(`database: ${opts.db} — try: comeback --db ${opts.db} stats --at ${end}\n`);
        process.stdout.write(`finished in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
        if (result.engine) {
          // The demo's engine stays open so the dashboard shows this very run.
          try {
            await serveDemoDashboard(result.engine, { log, onForce: () => process.exit(130) });
          } finally {
            await result.engine.close();
          }
        }
      },
    );
}
