import type { Command } from 'commander';
import { cliActor } from '../../engine/operator-log.js';
import { withEngine } from '../context.js';

/** `comeback resume SEQUENCE`: lifts a pause (e.g. by the deliverability guard). */
export function register(program: Command): void {
  program
    .command('resume')
    .description(
      'resume a paused sequence (the deliverability guard pauses one above 0.3% complaints or 5% hard bounces); it enrols and sends again',
    )
    .argument('<sequence>', 'sequence id')
    .option('--reason <text>', 'why, kept in the operator log (comeback log)')
    .action(async (sequence: string, opts: { reason?: string }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const reason = await engine.resume(sequence, {
          by: cliActor(),
          ...(opts.reason ? { reason: opts.reason } : {}),
        });
        process.stdout.write(
          reason === null
            ? `${sequence} is not paused; nothing to do\n`
            : `${sequence} resumed (it was paused: ${reason}). Mails that came due meanwhile go out now, later ones at their planned time; the guard counts from now on.\n`,
        );
      });
    });
}
