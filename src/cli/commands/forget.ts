import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { cliActor } from '../../engine/operator-log.js';
import { withEngine } from '../context.js';
import { POSTGRES_ERASURE } from '../../engine/privacy.js';
import { requireEmail } from './export.js';

async function confirmed(address: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `Erase all personal data of ${address}? The address stays on the suppression list (hashed) and is never mailed again. [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

/** `comeback forget EMAIL [--yes] [--json]` */
export function register(program: Command): void {
  program
    .command('forget')
    .description(
      'erase a person (GDPR Art. 17): personal data goes, the hashed suppression and anonymous statistics stay',
    )
    .argument('<email>', "the person's email address")
    .option('-y, --yes', 'do not ask (asked only on a terminal)')
    .option('--json', 'print the result as JSON')
    .action(async (email: string, opts: { yes?: boolean; json?: boolean }, cmd: Command) => {
      const address = requireEmail(email);
      if (!opts.yes && process.stdin.isTTY && !(await confirmed(address))) {
        process.stderr.write('nothing erased\n');
        process.exitCode = 1;
        return;
      }
      await withEngine(cmd, async (engine) => {
        const r = await engine.privacy.forget(address, { by: cliActor() });
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          [
            `erased ${r.customers} customer record(s) of ${address}`,
            `  orders deleted: ${r.ordersDeleted}, kept without number and items for conversion statistics: ${r.ordersKeptAnonymised}`,
            `  messages scrubbed: ${r.messagesScrubbed}, pending messages cancelled: ${r.messagesCancelled}`,
            `  opt-in requests deleted: ${r.consentRequestsDeleted}, outbox files deleted: ${r.outboxFilesDeleted}`,
            `  suppressed for good: sha256 ${r.emailHash}`,
            '',
          ].join('\n'),
        );
        if (r.storage === 'vacuum') process.stdout.write(`\n${POSTGRES_ERASURE}\n`);
        if (r.storage === 'walBusy') {
          process.stdout.write(
            '\nAnother process is reading the SQLite database: its write-ahead log still holds older copies until the next checkpoint (stop comeback serve and worker, then run comeback forget again to empty it now).\n',
          );
        }
      });
    });
}
