import type { Command } from 'commander';
import { formatMoney } from '../../util/money.js';
import { formatTable } from '../../util/table.js';
import type { SequenceStats } from '../../engine/stats.js';
import { withEngine } from '../context.js';

/** The per-sequence summary table used by `stats` and `demo`. */
export function statsTable(stats: SequenceStats[], locale = 'en'): string {
  return formatTable(
    ['sequence', 'status', 'enrolled', 'holdout', 'sent', 'opened', 'machine opens', 'clicked', 'unsub', 'converted', 'holdout conv.', 'uncertain', 'revenue'],
    stats.map((s) => [
      s.sequenceId,
      s.status,
      s.enrolled,
      s.holdout,
      s.sent,
      s.opened,
      s.machineOpened,
      s.clicked,
      s.unsubscribed,
      s.converted,
      s.holdoutConverted,
      s.uncertain,
      formatMoney(s.revenueMinor, s.currency, locale),
    ]),
  );
}

/** `comeback stats [SEQUENCE] [--json]` */
export function register(program: Command): void {
  program
    .command('stats')
    .description('what each sequence did: enrolled, sent, human opens and clicks, conversions, revenue')
    .argument('[sequence]', 'one sequence id (default: all)')
    .option('--json', 'print JSON for scripts')
    .action(async (sequence: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const stats = await engine.stats(sequence);
        process.stdout.write(opts.json ? `${JSON.stringify(stats, null, 2)}\n` : `${statsTable(stats)}\n`);
      });
    });
}
