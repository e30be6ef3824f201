import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { withEngine } from '../context.js';

/** Refuses an argument that is not an address before anything is opened. */
export function requireEmail(email: string): string {
  if (!/^[^@\s]+@[^@\s]+$/.test(email.trim()))
    throw new InputError('email', [`expected an email address, got "${email}"`]);
  return email.trim();
}

/** `comeback export EMAIL [--out FILE]` */
export function register(program: Command): void {
  program
    .command('export')
    .description(
      'everything stored about a person (GDPR Art. 15/20) as JSON: customer, orders, consent ledger, messages, events, suppressions',
    )
    .argument('<email>', "the person's email address")
    .option('-o, --out <file>', 'write the JSON to a file (readable by the owner only) instead of stdout')
    .action(async (email: string, opts: { out?: string }, cmd: Command) => {
      const address = requireEmail(email);
      await withEngine(cmd, async (engine) => {
        const data = await engine.privacy.export(address);
        const json = `${JSON.stringify(data, null, 2)}\n`;
        if (opts.out) {
          writeFileSync(opts.out, json, { mode: 0o600 });
          process.stderr.write(
            `wrote ${opts.out}: ${data.customers.length} customer record(s), ${data.suppressions.length} suppression(s)\n`,
          );
        } else process.stdout.write(json);
      });
    });
}
