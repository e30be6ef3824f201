import type { Command } from 'commander';
import { applyMailReport, type ReportOutcome } from '../../engine/mail-reports.js';
import { readMailbox, splitMbox, type MailboxMessage } from '../../tracking/mailbox.js';
import { withEngine } from '../context.js';

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `comeback reports [PATHS...] [--json]` */
export function register(program: Command): void {
  program
    .command('reports')
    .description('read bounces (delivery reports) and complaints (ARF feedback reports) returned by mail: hard bounces and complaints suppress the address')
    .argument('[paths...]', 'mail files, mbox files or Maildir folders (new/, cur/); none or - reads one mail from stdin (a pipe from the mail server)')
    .option('--json', 'one JSON object per mail')
    .addHelpText('after', '\nPoint sender.returnPath at a mailbox of its own, then e.g.:\n  comeback reports ~/Maildir/.bounces/new\n  (Postfix) bounces: "|/usr/bin/npx comeback reports -"\n')
    .action(async (paths: string[], opts: { json?: boolean }, cmd: Command) => {
      // Read everything first: a missing path stops before anything is recorded.
      const mails: MailboxMessage[] = [];
      for (const p of paths.length ? paths : ['-']) {
        if (p === '-') mails.push(...splitMbox('stdin', await readStdin()));
        else mails.push(...readMailbox(p));
      }
      await withEngine(cmd, async (engine) => {
        const counts: Record<ReportOutcome['action'], number> = { bounce: 0, complaint: 0, duplicate: 0, ignored: 0 };
        for (const mail of mails) {
          const outcome = await applyMailReport(engine.ctx, mail.raw);
          counts[outcome.action]++;
          if (opts.json) process.stdout.write(`${JSON.stringify({ source: mail.source, ...outcome })}\n`);
          else process.stdout.write(`${mail.source}: ${outcome.detail}\n`);
        }
        if (!opts.json) {
          process.stdout.write(
            `${mails.length} mail${mails.length === 1 ? '' : 's'} read: ${counts.bounce} hard bounce${counts.bounce === 1 ? '' : 's'} and ${counts.complaint} complaint${counts.complaint === 1 ? '' : 's'} recorded (addresses suppressed), ${counts.duplicate} recorded before, ${counts.ignored} ignored\n`,
          );
        }
      });
    });
}
