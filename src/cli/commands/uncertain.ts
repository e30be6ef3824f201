import type { Command } from 'commander';
import { InputError } from '../../errors.js';
import { listUncertain, resolveUncertain, type UncertainVerdict } from '../../engine/uncertain.js';
import { formatTable } from '../../util/table.js';
import { cliActor } from '../../engine/operator-log.js';
import { withEngine } from '../context.js';

/** `12,13 14` → [12, 13, 14]; names the first entry that is not a message id. */
function messageIds(option: string, values: string[]): number[] {
  const ids = values
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
  const bad = ids.find((v) => !/^\d+$/.test(v));
  if (bad !== undefined) throw new InputError(option, [`expected message ids like 12,13, got "${bad}"`]);
  return ids.map(Number);
}

/** `comeback uncertain [--sent IDS] [--resend IDS] [--json]` */
export function register(program: Command): void {
  program
    .command('uncertain')
    .description(
      'mails whose delivery is unknown (a worker died waiting for the provider): list them, then settle each after looking it up in the provider log',
    )
    .option('--sent <ids...>', 'the provider has them: record them as sent')
    .option('--resend <ids...>', 'the provider never got them: send them again')
    .option('--reason <text>', 'what the provider log showed, kept in the operator log (comeback log)')
    .option('--limit <n>', 'list at most this many (oldest first)', '100')
    .option('--json', 'machine-readable output')
    .action(
      async (
        opts: { sent?: string[]; resend?: string[]; reason?: string; limit: string; json?: boolean },
        cmd: Command,
      ) => {
        const verdicts: [UncertainVerdict, number[]][] = [
          ['sent', messageIds('--sent', opts.sent ?? [])],
          ['resend', messageIds('--resend', opts.resend ?? [])],
        ];
        const both = verdicts[0][1].filter((id) => verdicts[1][1].includes(id));
        if (both.length > 0) throw new InputError('--sent/--resend', [`message ${both.join(', ')} given to both`]);
        await withEngine(cmd, async (engine) => {
          if (verdicts.some(([, ids]) => ids.length > 0)) {
            const results = [];
            for (const [verdict, ids] of verdicts) {
              if (ids.length === 0) continue;
              const r = await resolveUncertain(engine.ctx, ids, verdict, {
                by: cliActor(),
                ...(opts.reason ? { reason: opts.reason } : {}),
              });
              results.push({ verdict, ...r });
              if (!opts.json) {
                if (r.resolved.length)
                  process.stdout.write(
                    `${verdict === 'sent' ? 'recorded as sent' : 'sent again with the next pass'}: ${r.resolved.join(', ')}\n`,
                  );
                if (r.skipped.length)
                  process.stderr.write(`not uncertain (left as they are): ${r.skipped.join(', ')}\n`);
              }
              if (r.skipped.length) process.exitCode = 1;
            }
            if (opts.json) process.stdout.write(`${JSON.stringify(results)}\n`);
            return;
          }
          const limit = Number.parseInt(opts.limit, 10);
          if (!(limit > 0)) throw new InputError('--limit', [`expected a positive number, got "${opts.limit}"`]);
          const { total, messages } = await listUncertain(engine.ctx, limit);
          if (opts.json) {
            process.stdout.write(`${JSON.stringify({ total, messages })}\n`);
            return;
          }
          if (total === 0) {
            process.stdout.write('no uncertain mails\n');
            return;
          }
          const rows = messages.map((m) => [
            String(m.id),
            `${m.sequenceId}/${m.stepId}`,
            m.customerExternalId,
            m.email ?? '(erased)',
            new Date(m.since).toISOString().slice(0, 16).replace('T', ' '),
            m.messageIdHeader ?? '—',
          ]);
          process.stdout.write(
            `${formatTable(['id', 'sequence/step', 'customer', 'email', 'uncertain since', 'Message-ID'], rows)}\n`,
          );
          if (total > messages.length) process.stdout.write(`... and ${total - messages.length} more (--limit)\n`);
          process.stdout.write(
            `\n${total} mail${total === 1 ? '' : 's'} may or may not have arrived. Look each up in the provider's log (SMTP: by Message-ID; SendGrid: custom_args comeback_message_id = id), then:\n` +
              '  comeback uncertain --sent 12,13     # the provider has them\n' +
              '  comeback uncertain --resend 14      # the provider never got them: sent again\n',
          );
        });
      },
    );
}
