import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { DEFAULT_SCORING_SETTINGS, scoreStaleness, type ScoreOptions, type ScoreRunResult } from '../../dormancy/index.js';
import { ConfigError } from '../../errors.js';
import { parseTime } from '../../util/time.js';
import { withEngine } from '../context.js';

interface ScoreCliOptions {
  asOf?: string;
  set: string[];
  ifStale?: boolean;
  json?: boolean;
}

/** `--set horizonDays=180` → { horizonDays: 180 }; values are numbers. */
export function parseSettingPairs(pairs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of pairs) {
    const m = /^([A-Za-z]+)=(.+)$/.exec(p);
    if (!m) throw new ConfigError(`--set ${p}: expected NAME=NUMBER, e.g. --set couponPercent=15`);
    const v = Number(m[2]);
    if (!Number.isFinite(v)) throw new ConfigError(`--set ${p}: ${m[2]} is not a number`);
    out[m[1]!] = v;
  }
  return out;
}

/** A short human summary of a run. */
export function formatRun(r: ScoreRunResult): string {
  const pct = (n: number) => (r.counts.withOrders > 0 ? ` (${((100 * n) / r.counts.withOrders).toFixed(1)} %)` : '');
  const lines = [
    `scored ${r.customers.toLocaleString('en')} customers (${r.counts.withOrders.toLocaleString('en')} with orders, ${r.orders.toLocaleString('en')} orders) in ${r.seconds.total.toFixed(1)} s` +
      ` (read ${r.seconds.read.toFixed(1)} s, fit ${r.seconds.fit.toFixed(1)} s, write ${r.seconds.write.toFixed(1)} s; CPU ${r.seconds.cpu.toFixed(1)} s)`,
    `shop prior interval: ${r.priorIntervalDays.toFixed(1)} days`,
    r.bgNbd
      ? `BG/NBD: r=${r.bgNbd.r.toFixed(4)} alpha=${r.bgNbd.alpha.toFixed(4)} a=${r.bgNbd.a.toFixed(4)} b=${r.bgNbd.b.toFixed(4)} (log-likelihood ${r.bgNbd.logLikelihood.toFixed(1)}, ${r.fitRows.toLocaleString('en')} customers)`
      : 'BG/NBD: not fitted',
    r.gammaGamma ? `Gamma-Gamma: p=${r.gammaGamma.p.toFixed(4)} q=${r.gammaGamma.q.toFixed(4)} v=${r.gammaGamma.v.toFixed(4)} (spend in major units)` : 'Gamma-Gamma: not fitted',
    ...(r.modelNote ? [`note: ${r.modelNote}`] : []),
    `early warning: ${r.counts.earlyWarning.toLocaleString('en')}${pct(r.counts.earlyWarning)}, lost: ${r.counts.lapsed.toLocaleString('en')}${pct(r.counts.lapsed)}, worth winning back: ${r.counts.worthWinningBack.toLocaleString('en')}${pct(r.counts.worthWinningBack)}`,
    `excluded: ${Object.entries(r.counts.excluded).map(([k, v]) => `${k} ${v.toLocaleString('en')}`).join(', ') || 'none'}`,
  ];
  if (r.invalidOrders > 0) lines.push(`left out ${r.invalidOrders} invalid orders, e.g. ${r.invalidSamples.join('; ')}`);
  return lines.join('\n');
}

/** `comeback score [--as-of DATE] [--set NAME=VALUE ...] [--if-stale] [--json]` */
export function register(program: Command): void {
  program
    .command('score')
    .description('compute every customer\'s purchase rhythm, RFM, P(alive), expected value and exclusion signals (docs/SCORING.md)')
    .option('--as-of <date>', 'score as of this ISO date/time instead of now (orders after it are left out)')
    .addOption(
      new Option('--set <name=value>', `a scoring setting, repeatable; e.g. --set couponPercent=15 --set horizonDays=180 (names: ${Object.keys(DEFAULT_SCORING_SETTINGS).join(', ')})`)
        .default([])
        .argParser((v: string, prev: string[]) => [...prev, v]),
    )
    .option('--if-stale', 'only score when the stored scores are stale (for cron jobs)')
    .option('--json', 'print the run result as JSON')
    .action(async (opts: ScoreCliOptions, cmd: Command) => {
      const settings = parseSettingPairs(opts.set);
      let now: number | undefined;
      if (opts.asOf !== undefined) {
        now = parseTime(opts.asOf);
        if (now === undefined) throw new ConfigError(`--as-of ${opts.asOf}: not a date (use e.g. 2026-06-01 or 2026-06-01T12:00:00Z)`);
      }
      await withEngine(cmd, async (engine) => {
        if (opts.ifStale) {
          const st = await scoreStaleness(engine.ctx);
          if (!st.stale) {
            process.stdout.write(opts.json ? `${JSON.stringify({ skipped: st.reason })}\n` : `scores are ${st.reason === 'fresh' ? 'fresh' : 'being computed by another run'}; nothing to do\n`);
            return;
          }
          Object.assign(settings, { ...st.settings, ...settings });
        }
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar({ format: 'scoring {phase} [{bar}] {percentage}% | {value}/{total} customers | {eta_formatted} left', stream: process.stderr }, cliProgress.Presets.shades_classic)
          : undefined;
        let phase = '';
        const options: ScoreOptions = {
          ...settings,
          ...(now !== undefined ? { now } : {}),
          onProgress: (p, done, total) => {
            if (!bar) return;
            if (p !== phase) {
              if (phase) bar.stop();
              phase = p;
              bar.start(total, 0, { phase: p === 'read' ? 'reading ' : 'writing ' });
            }
            bar.update(done);
          },
        };
        try {
          const result = await engine.score(options);
          bar?.stop();
          process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatRun(result)}\n`);
        } finally {
          bar?.stop();
        }
      });
    });
}
