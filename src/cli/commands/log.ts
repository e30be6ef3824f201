import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { listOperatorActions } from '../../engine/operator-log.js';
import { formatTable } from '../../util/table.js';
import { withEngine } from '../context.js';

/** `comeback log [--limit N] [--user NAME] [--json]`: the operator log, newest first. */
export function register(program: Command): void {
  program
    .command('log')
    .description(
      'the operator log: who paused, resumed, settled or erased what, when, why and what it affected (comeback audit EMAIL is the per-person consent audit)',
    )
    .option('--limit <n>', 'show at most this many entries', '50')
    .option('--user <name>', 'only what this user (or OS user of the CLI) did')
    .option('--json', 'machine-readable output')
    .action(async (opts: { limit: string; user?: string; json?: boolean }, cmd: Command) => {
      const limit = Number.parseInt(opts.limit, 10);
      if (!(limit > 0 && limit <= 10_000))
        throw new InputError('--limit', [`expected a number from 1 to 10000, got "${opts.limit}"`]);
      await withEngine(cmd, async (engine) => {
        const entries = await listOperatorActions(engine.ctx.k, { limit, ...(opts.user ? { actor: opts.user } : {}) });
        if (opts.json) return void process.stdout.write(`${JSON.stringify(entries)}\n`);
        if (!entries.length) return void process.stdout.write('no operator actions yet\n');
        const rows = entries.map((e) => [
          new Date(e.at).toISOString().slice(0, 16).replace('T', ' '),
          `${e.actor} (${e.via})`,
          e.action,
          e.target,
          e.reason ?? '',
          e.outcome,
          Object.entries(e.counts)
            .map(([k, v]) => `${k} ${v}`)
            .join(', '),
        ]);
        process.stdout.write(
          `${formatTable(['when (UTC)', 'who', 'what', 'on', 'reason', 'outcome', 'counts'], rows)}\n`,
        );
      });
    });
}
