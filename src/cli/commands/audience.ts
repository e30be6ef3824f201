import type { Command } from 'commander';
import { explainAudience } from '../../engine/audience-explain.js';
import { currencyDigits } from '../../util/money.js';
import { formatTable } from '../../util/table.js';
import { parseTimeOption } from '../../util/time.js';
import { withEngine } from '../context.js';
import { findSequence } from './simulate.js';

/** `comeback audience SEQUENCE --explain`: how many customers pass each audience rule in turn, and who is excluded why. */
export function register(program: Command): void {
  program
    .command('audience')
    .description('how many customers pass each audience rule in turn, with a sample of who is excluded and why')
    .argument('<sequence>', 'sequence file or id')
    .option('--explain', 'show every rule with the customers it removes (the default and only view)')
    .option('--sample <n>', 'excluded customers shown per rule', '5')
    .option('--at <time>', 'evaluate at this time (ISO 8601) instead of now')
    .option('--json', 'print JSON for scripts')
    .action(async (ref: string, opts: { sample: string; at?: string; json?: boolean }, cmd: Command) => {
      const at = opts.at === undefined ? undefined : parseTimeOption(opts.at, '--at');
      await withEngine(
        cmd,
        async (engine) => {
          const seq = findSequence(ref, engine.ctx.config.sequencesDir);
          const x = await explainAudience(engine.ctx.k, seq, at ?? engine.ctx.clock.now(), {
            sample: Math.max(0, Number(opts.sample) || 0),
            currencyDigits: currencyDigits(engine.ctx.config.defaults.currency),
            pageSize: engine.ctx.config.worker.batchSize,
          });
          if (opts.json) {
            process.stdout.write(`${JSON.stringify(x, null, 2)}\n`);
            return;
          }
          const out = process.stdout;
          out.write(`Audience of ${seq.id} v${seq.version} at ${new Date(x.at).toISOString()}\n\n`);
          out.write(
            `${formatTable(
              ['rule', 'remaining', 'excluded'],
              x.steps.map((s) => [s.label, s.remaining, s.excluded]),
            )}\n`,
          );
          for (const s of x.steps.filter((s) => s.samples.length > 0)) {
            out.write(`\nexcluded by "${s.label}" (sample):\n`);
            for (const e of s.samples) out.write(`  ${e.customer}: ${e.reason}\n`);
          }
          for (const n of x.notes) out.write(`\nnote: ${n}\n`);
        },
        { sequences: [] },
      );
    });
}
