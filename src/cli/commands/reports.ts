import { rmSync } from 'node:fs';
import type { Command } from 'commander';
import { applyMailReport, type ReportOutcome } from '../../engine/mail-reports.js';
import { mailFiles, readMailFiles, splitMbox, type MailboxMessage } from '../../tracking/mailbox.js';
import { withEngine } from '../context.js';

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `comeback reports [PATHS...] [--remove] [--json]` */
export function register(program: Command): void {
  program
    .command('reports')
    .description('read bounces (delivery reports) and complaints (ARF feedback reports) returned by mail: hard bounces and complaints suppress the address')
    .argument('[paths...]', 'mail files, mbox files or Maildir folders (new/, cur/); none or - reads stdin (a pipe from the mail server)')
    .option('--remove', 'delete each mail file once it is read and recorded (mbox files are kept)')
    .option('--json', 'one JSON object per mail')
    .addHelpText('after', '\nPoint sender.returnPath at a mailbox of its own, then e.g. from cron:\n  comeback reports --remove ~/Maildir/.bounces/new\nor pipe each mail in (Postfix alias):\n  bounces: "|/path/to/comeback reports -"\nA report read twice is recorded once.\n')
    .action(async (paths: string[], opts: { remove?: boolean; json?: boolean }, cmd: Command) => {
      const fromStdin = paths.length === 0 || paths.includes('-');
      // Every path is checked before anything is recorded.
      const files = mailFiles(paths.filter((p) => p !== '-'));
      const stdin = fromStdin ? splitMbox('stdin', await readStdin()) : [];
      await withEngine(cmd, async (engine) => {
        const counts: Record<ReportOutcome['action'], number> = { bounce: 0, complaint: 0, duplicate: 0, ignored: 0 };
        const apply = async (mail: MailboxMessage) => {
          const outcome = await applyMailReport(engine.ctx, mail.raw);
          counts[outcome.action]++;
          if (opts.json) process.stdout.write(`${JSON.stringify({ source: mail.source, ...outcome })}\n`);
          else process.stdout.write(`${mail.source}: ${outcome.detail}\n`);
          if (opts.remove && mail.file) rmSync(mail.file, { force: true });
        };
        for (const mail of stdin) await apply(mail);
        for (const mail of readMailFiles(files)) await apply(mail);
        if (!opts.json) {
          const n = counts.bounce + counts.complaint + counts.duplicate + counts.ignored;
          process.stdout.write(
            `${n} mail${n === 1 ? '' : 's'} read: ${counts.bounce} hard bounce${counts.bounce === 1 ? '' : 's'} and ${counts.complaint} complaint${counts.complaint === 1 ? '' : 's'} recorded (addresses suppressed), ${counts.duplicate} recorded before, ${counts.ignored} ignored\n`,
          );
        }
      });
    });
}
