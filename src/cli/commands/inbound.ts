import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import type { InboundOutcome } from '../../engine/inbound.js';
import { mailFiles, readMailFiles, splitMbox, type MailboxMessage } from '../../tracking/mailbox.js';
import { withEngine } from '../context.js';
import { count } from '../format/plural.js';

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `comeback inbound [PATHS...] [--remove] [--json]` */
export function register(program: Command): void {
  program
    .command('inbound')
    .description(
      'read the mail that comes back: bounces (delivery reports), complaints (ARF feedback reports) and unsubscribe requests to the List-Unsubscribe mailto address',
    )
    .argument(
      '[paths...]',
      'mail files, mbox files or Maildir folders (new/, cur/); none or - reads stdin (a pipe from the mail server)',
    )
    .option('--remove', 'delete each mail file once it is read and recorded (mbox files are kept)')
    .option('--json', 'one JSON object per mail')
    .addHelpText(
      'after',
      '\nPoint sender.returnPath (bounces) and sender.unsubscribeMailto at mailboxes of their own, then from cron:\n' +
        '  comeback inbound --remove ~/Maildir/.bounces/new ~/Maildir/.unsubscribe/new\n' +
        'or pipe each mail in (a Postfix alias):\n  bounces: "|/path/to/comeback inbound -"\nA mail read twice is recorded once.\n',
    )
    .action(async (paths: string[], opts: { remove?: boolean; json?: boolean }, cmd: Command) => {
      const fromStdin = paths.length === 0 || paths.includes('-');
      // Every path is checked before anything is recorded.
      const files = mailFiles(paths.filter((p) => p !== '-'));
      const stdin = fromStdin ? splitMbox('stdin', await readStdin()) : [];
      await withEngine(cmd, async (engine) => {
        const counts: Record<InboundOutcome['action'], number> = {
          bounce: 0,
          soft_bounce: 0,
          complaint: 0,
          unsubscribe: 0,
          duplicate: 0,
          ignored: 0,
        };
        const apply = async (mail: MailboxMessage) => {
          const outcome = await engine.inbound(mail.raw);
          counts[outcome.action]++;
          if (opts.json) process.stdout.write(`${JSON.stringify({ source: mail.source, ...outcome })}\n`);
          else process.stdout.write(`${mail.source}: ${outcome.detail}\n`);
          if (opts.remove && mail.file) rmSync(mail.file, { force: true });
        };
        for (const mail of stdin) await apply(mail);
        for (const mail of readMailFiles(files)) await apply(mail);
        if (!opts.json) {
          const n = Object.values(counts).reduce((a, b) => a + b, 0);
          process.stdout.write(
            `${count(n, 'mail')} read: ${count(counts.bounce, 'hard bounce')}, ${count(counts.complaint, 'complaint')} and ${count(counts.unsubscribe, 'unsubscribe')} recorded, ${count(counts.soft_bounce, 'soft bounce')} noted, ${counts.duplicate} recorded before, ${counts.ignored} ignored\n`,
          );
        }
      });
    });
}
