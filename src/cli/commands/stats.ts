import type { Command } from 'commander';
import { ManualClock } from '../../clock.js';
import { noticeLines, operatorNotices } from '../../engine/notices.js';
import type { SequenceStats } from '../../engine/stats.js';
import { isDuration, parseDuration } from '../../sequences/duration.js';
import { formatMoney } from '../../util/money.js';
import { formatTable } from '../../util/table.js';
import { parseTimeOption } from '../../util/time.js';
import { withEngine } from '../context.js';
import { pathsText, programmeText } from '../format/programme.js';
import { reportText } from '../format/report.js';

/** The short per-sequence summary table (the demo prints it after a run). */
export function statsTable(stats: SequenceStats[], locale = 'en'): string {
  return formatTable(
    [
      'sequence',
      'status',
      'enrolled',
      'holdout',
      'sent',
      'opened',
      'machine opens',
      'clicked',
      'unsub',
      'converted',
      'holdout conv.',
      'uncertain',
      'revenue',
    ],
    stats.map((s) => [
      s.sequenceId,
      s.status,
      s.enrolled,
      s.holdout,
      s.sent,
      s.opened,
      s.machineOpened,
      s.clicked,
      s.unsubscribed,
      s.converted,
      s.holdoutConverted,
      s.uncertain,
      formatMoney(s.revenueMinor, s.currency, locale),
    ]),
  );
}

/** `--since`: a date (2026-03-01, or a full ISO time) or a duration back from now (30d). */
export function parseSince(text: string, now: number): number {
  return isDuration(text)
    ? now - parseDuration(text)
    : parseTimeOption(text, '--since', 'a date like 2026-03-01 or a duration like 30d');
}

/** `comeback stats [SEQUENCE] [--json] [--since D] [--at T]` */
export function register(program: Command): void {
  program
    .command('stats')
    .description(
      'what each sequence achieved: funnels per step and variant, uplift against the holdout, variant allocation, deliverability (docs/METRICS.md)',
    )
    .argument('[sequence]', 'one sequence id (default: all)')
    .option('--json', 'print the report as one JSON document for scripts')
    .option('--since <date>', 'count only enrolments from this date (2026-03-01) or this long ago (30d)')
    .option(
      '--at <time>',
      'report as of this time (ISO 8601) instead of now: where rolling windows such as deliverability end',
    )
    .action(
      async (sequence: string | undefined, opts: { json?: boolean; since?: string; at?: string }, cmd: Command) => {
        const at =
          opts.at === undefined
            ? undefined
            : parseTimeOption(opts.at, '--at', 'a date like 2026-03-01 or an ISO 8601 time like 2026-03-01T06:00:00Z');
        const options = at === undefined ? {} : { clock: new ManualClock(at) };
        await withEngine(
          cmd,
          async (engine) => {
            const since = opts.since === undefined ? undefined : parseSince(opts.since, engine.ctx.clock.now());
            const report = await engine.report({ sequence, since });
            if (opts.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
            else {
              // What needs an operator comes before the figures.
              const notes = await operatorNotices(engine.ctx);
              const extra = [
                pathsText(report.sequences),
                programmeText(report.programme, engine.ctx.config.defaults.currency),
              ].filter((t) => t !== '');
              process.stdout.write(
                `${noticeLines(notes)}${notes.length ? '\n' : ''}${reportText(report)}${extra.map((t) => `\n\n${t}`).join('')}\n`,
              );
            }
          },
          options,
        );
      },
    );
}
