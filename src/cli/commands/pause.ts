import type { Command } from 'commander';
import { cliActor } from '../../engine/operator-log.js';
import { withEngine } from '../context.js';

/** `comeback pause SEQUENCE [--reason TEXT]`: stops a sequence at once, until `comeback resume`. */
export function register(program: Command): void {
  program
    .command('pause')
    .description(
      'pause a sequence now: it enrols and sends nothing until comeback resume; its mails keep their planned times',
    )
    .argument('<sequence>', 'sequence id')
    .option('--reason <text>', 'why, shown by comeback stats, the worker and the dashboard', 'paused by hand')
    .action(async (sequence: string, opts: { reason: string }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const paused = await engine.pause(sequence, opts.reason, { by: cliActor() });
        const status = await engine.ctx.sequences.status(sequence);
        process.stdout.write(
          paused
            ? `${sequence} paused (${opts.reason}): it enrols and sends nothing until comeback resume ${sequence}\n`
            : `${sequence} was paused already (${status.reason ?? 'no reason given'}); nothing to do\n`,
        );
      });
    });
}
