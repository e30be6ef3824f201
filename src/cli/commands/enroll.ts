import type { Command } from 'commander';
import type { EnrollResult } from '../../engine/enroll.js';
import { formatTable } from '../../util/table.js';
import { withEngine } from '../context.js';

/** The enrolment results as a table: who was considered, enrolled, held out, and why others were not. */
function enrollTable(results: EnrollResult[]): string {
  return formatTable(
    ['sequence', 'considered', 'enrolled', 'holdout', 'not enrolled (why)'],
    results.map((r) => [
      r.sequenceId,
      r.considered,
      r.enrolled,
      r.holdout,
      Object.entries(r.skipped)
        .filter(([, n]) => n)
        .map(([why, n]) => `${why} ${n}`)
        .join(', ') || '—',
    ]),
  );
}

/** `comeback enroll [SEQUENCE] [--json]`: one audience evaluation, for cron (the worker also runs it on `worker.audienceIntervalMs`). */
export function register(program: Command): void {
  program
    .command('enroll')
    .description(
      'evaluate the audience of one sequence (default: every sequence that is not trigger-started) and enrol who qualifies; re-scores first when the scores are stale',
    )
    .argument('[sequence]', 'sequence id')
    .option('--json', 'print JSON for scripts')
    .action(async (sequence: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withEngine(cmd, async (engine) => {
        const results = sequence ? [await engine.enrollAudience(sequence)] : await engine.enrollAll();
        process.stdout.write(opts.json ? `${JSON.stringify(results, null, 2)}\n` : `${enrollTable(results)}\n`);
      });
    });
}
