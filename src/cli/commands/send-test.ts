import type { Command } from 'commander';
import { sendTest } from '../../studio/test-send.js';
import { withEngine } from '../context.js';

/** `comeback send-test SEQUENCE STEP [--customer ID] [--to ADDRESS] [--locale L] [--variant V]` */
export function register(program: Command): void {
  program
    .command('send-test')
    .description(
      "send a step's mail to the seed list of the config (never to the customer); a test mail counts in no metric",
    )
    .argument('<sequence>', 'sequence id')
    .argument('<step>', 'step id')
    .option('--customer <id>', 'render for this customer (external or numeric id); default: a made-up sample customer')
    .option('--to <address>', 'one address of the seedList (default: every address of it)')
    .option('--locale <locale>', "render in this locale instead of the customer's")
    .option('--variant <id>', 'a variant of the step (default: the step itself)')
    .action(
      async (
        sequence: string,
        step: string,
        opts: { customer?: string; to?: string; locale?: string; variant?: string },
        cmd: Command,
      ) => {
        await withEngine(cmd, async (engine) => {
          const sent = await sendTest(engine, { sequence, step, ...opts });
          for (const s of sent)
            process.stdout.write(
              `${s.to}: ${s.status} "${s.subject}"${s.providerId ? ` (${s.providerId})` : ''}${s.error ? `: ${s.error}` : ''}\n`,
            );
          if (sent.some((s) => s.status !== 'sent')) process.exitCode = 1;
        });
      },
    );
}
