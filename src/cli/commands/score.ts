import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import {
  DEFAULT_SCORING_SETTINGS,
  SIGNALS,
  scoreStaleness,
  type RecalibrationName,
  type ScoreOptions,
  type ScoreRunResult,
  type ShopBacktest,
} from '../../dormancy/index.js';
import { parseDuration } from '../../sequences/duration.js';
import { ConfigError } from '../../errors.js';
import { parseTime } from '../../util/time.js';
import { withEngine } from '../context.js';

interface ScoreCliOptions {
  asOf?: string;
  set: string[];
  ifStale?: boolean;
  json?: boolean;
  backtest?: boolean;
  horizon?: string;
}

/** What each score is, in the tables. */
export const SIGNAL_LABELS: Record<(typeof SIGNALS)[number], string> = {
  recency: 'recency (days since the last order)',
  rhythm: 'rhythm (overdue ratio)',
  bg_p_alive: 'BG/NBD P(alive)',
  bg_expected: 'BG/NBD E[Y] in the horizon',
  bg_p_buy: 'BG/NBD P(buys in the horizon)',
  regularity: 'regularity (gamma intervals)',
  combined: 'calibrated combination',
};

const pp = (x: number) => (Number.isFinite(x) ? `${(100 * x).toFixed(1)} %` : '—');
const f3 = (x: number | undefined) => (x !== undefined && Number.isFinite(x) ? x.toFixed(3) : '—');

/** The backtest as text: one table per cut-off and the mean AUC with the winner. */
export function formatBacktest(b: ShopBacktest): string {
  const day = (d: number) => new Date(d * 86_400_000).toISOString().slice(0, 10);
  const out = [
    `backtest of ${b.sampled.toLocaleString('en')} customers with orders (${b.customersRead.toLocaleString('en')} read), horizon ${b.horizonDays} days, data up to ${b.asOf.slice(0, 10)}`,
  ];
  for (const o of b.origins) {
    out.push(
      '',
      `cut-off ${day(o.cutoffDay)} (calibrated on ${day(o.trainCutoffDay)}): ${o.customers.toLocaleString('en')} customers, ${pp(o.returnedShare)} bought again within ${b.horizonDays} days`,
    );
    out.push(
      `  ${'score'.padEnd(36)} ${'AUC'.padStart(6)} ${'repeat'.padStart(7)} ${'max gap'.padStart(8)}  flagged came back`,
    );
    for (const s of SIGNALS) {
      const r = o.signals[s];
      if (!r) continue;
      out.push(
        `  ${SIGNAL_LABELS[s].padEnd(36)} ${f3(r.auc).padStart(6)} ${f3(r.aucRepeat).padStart(7)} ${`${r.maxCalibrationGapPp.toFixed(1)} pp`.padStart(8)}  ${pp(r.flaggedCameBack)} of ${r.flagged.toLocaleString('en')}`,
      );
    }
    for (const n of o.notes) out.push(`  note: ${n}`);
  }
  out.push(
    '',
    'mean AUC: ' +
      SIGNALS.filter((s) => b.meanAuc[s] !== undefined)
        .map((s) => `${s} ${f3(b.meanAuc[s])}`)
        .join(', '),
  );
  out.push(`winner (the default p_return): ${SIGNAL_LABELS[b.winner]}`);
  out.push(...formatPooled(b));
  return out.join('\n');
}

/** What each recalibration is, in the text output. */
export const RECALIBRATION_LABELS: Record<RecalibrationName, string> = {
  latest: 'fitted on the latest window',
  pooled: 'fitted on the latest windows, equal weights',
  decayed: 'fitted on the latest windows, weights halving every horizon',
  decayed_intercept: 'time-decayed slopes, intercept from the latest window',
  latest_age: 'fitted on the latest window, the combination with the customer age',
  pooled_age: 'fitted on the latest windows, equal weights, the combination with the customer age',
  decayed_age: 'fitted on the latest windows, weights halving every horizon, the combination with the customer age',
  decayed_intercept_age: 'time-decayed slopes, intercept from the latest window, the combination with the customer age',
};

/** The recalibration chosen and the winner's calibration pooled over the cut-offs, with intervals. */
function formatPooled(b: ShopBacktest): string[] {
  const r = b.recalibration;
  const out = [
    `recalibration: ${RECALIBRATION_LABELS[r.method]} (${r.method}; ${r.rule}: ${Object.entries(r.candidates)
      .map(([m, c]) => `${m} ${c.pooledLogLoss.toFixed(4)}`)
      .join(', ')})`,
  ];
  const pc = b.pooled[b.winner];
  if (!pc) return out;
  const pt = (x: number) => (100 * x).toFixed(1).padStart(6);
  out.push(
    `calibration of the winner pooled over ${pc.cutoffs} cut-offs (${pc.predictions.toLocaleString('en')} predictions), %, 95 % interval of the gap (cluster-robust by customer):`,
  );
  out.push(`  decile ${'n'.padStart(6)} ${'pred'.padStart(6)} ${'actual'.padStart(6)} ${'gap'.padStart(6)}  interval`);
  pc.deciles.forEach((d, i) =>
    out.push(
      `  ${String(i + 1).padStart(6)} ${String(d.n).padStart(6)} ${pt(d.predicted)} ${pt(d.actual)} ${pt(d.gap)}  [${pt(d.low)}, ${pt(d.high)}]${d.distinguishable ? ' differs from 0' : ''}`,
    ),
  );
  const perCutoff = b.origins.map((o) => o.signals[b.winner]?.maxCalibrationGapPp.toFixed(1)).join(', ');
  out.push(
    `within ${pc.goalPp} pp in every decile: pooled ${pc.withinGoal ? 'yes' : 'no'} (largest gap ${pc.maxGapPp.toFixed(1)} pp; ${pc.distinguishable} of 10 deciles differ from 0; every interval inside ±${pc.goalPp} pp: ${pc.shownWithinGoal ? 'yes' : 'no'}); ` +
      `per cut-off ${b.origins.every((o) => (o.signals[b.winner]?.maxCalibrationGapPp ?? Infinity) <= pc.goalPp) ? 'yes' : 'no'} (largest gaps ${perCutoff} pp, latest first)`,
  );
  out.push(
    `recalibration chosen from older cut-offs only (${r.prequential.methods.join(', ')}): largest pooled gap ${r.prequential.pooled.maxGapPp.toFixed(1)} pp`,
  );
  return out;
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
    r.gammaGamma
      ? `Gamma-Gamma: p=${r.gammaGamma.p.toFixed(4)} q=${r.gammaGamma.q.toFixed(4)} v=${r.gammaGamma.v.toFixed(4)} (spend in major units)`
      : 'Gamma-Gamma: not fitted',
    ...(r.modelNote ? [`note: ${r.modelNote}`] : []),
    !r.pReturn
      ? 'p_return: not computed'
      : 'reason' in r.pReturn
        ? `p_return: ${r.pReturn.reason}`
        : `p_return (buys again within ${r.pReturn.horizonDays} days without a mail): ${SIGNAL_LABELS[r.pReturn.method]}, the winner of this shop's backtest at ${r.pReturn.cutoff} (AUC ${f3(r.pReturn.auc[r.pReturn.method])}; BG/NBD E[Y] ${f3(r.pReturn.auc.bg_expected)}, recency ${f3(r.pReturn.auc.recency)}; largest calibration gap ${r.pReturn.maxCalibrationGapPp[r.pReturn.method]?.toFixed(1)} pp; recalibration: ${r.pReturn.recalibration ?? 'latest'})`,
    `early warning: ${r.counts.earlyWarning.toLocaleString('en')}${pct(r.counts.earlyWarning)}, lost: ${r.counts.lapsed.toLocaleString('en')}${pct(r.counts.lapsed)}, worth winning back: ${r.counts.worthWinningBack.toLocaleString('en')}${pct(r.counts.worthWinningBack)}`,
    `excluded: ${
      Object.entries(r.counts.excluded)
        .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
        .join(', ') || 'none'
    }`,
  ];
  if (r.invalidOrders > 0)
    lines.push(`left out ${r.invalidOrders} invalid orders, e.g. ${r.invalidSamples.join('; ')}`);
  return lines.join('\n');
}

/** `comeback score [--as-of DATE] [--set NAME=VALUE ...] [--if-stale] [--json]` */
export function register(program: Command): void {
  program
    .command('score')
    .description(
      "compute every customer's purchase rhythm, RFM, P(alive), expected value and exclusion signals (docs/SCORING.md)",
    )
    .option('--as-of <date>', 'score as of this ISO date/time instead of now (orders after it are left out)')
    .addOption(
      new Option(
        '--set <name=value>',
        `a scoring setting, repeatable; e.g. --set couponPercent=15 --set horizonDays=180 (names: ${Object.keys(DEFAULT_SCORING_SETTINGS).join(', ')})`,
      )
        .default([])
        .argParser((v: string, prev: string[]) => [...prev, v]),
    )
    .option('--if-stale', 'only score when the stored scores are stale (for cron jobs)')
    .option('--json', 'print the run result as JSON')
    .option(
      '--backtest',
      'instead of scoring: fit every return score up to rolling cut-offs and measure it on what happened after (AUC, calibration by decile, flagged who came back)',
    )
    .option(
      '--horizon <duration>',
      'backtest horizon, e.g. 90d or 13w (default: the returnHorizonDays setting, 90 days)',
    )
    .action(async (opts: ScoreCliOptions, cmd: Command) => {
      const settings = parseSettingPairs(opts.set);
      let now: number | undefined;
      if (opts.asOf !== undefined) {
        now = parseTime(opts.asOf);
        if (now === undefined)
          throw new ConfigError(`--as-of ${opts.asOf}: not a date (use e.g. 2026-06-01 or 2026-06-01T12:00:00Z)`);
      }
      let horizonDays: number | undefined;
      if (opts.horizon !== undefined) {
        let ms: number;
        try {
          ms = parseDuration(opts.horizon);
        } catch {
          throw new ConfigError(`--horizon ${opts.horizon}: expected whole days like 90d or 13w`);
        }
        horizonDays = ms / 86_400_000;
        if (!Number.isInteger(horizonDays) || horizonDays < 1)
          throw new ConfigError(`--horizon ${opts.horizon}: expected whole days like 90d or 13w`);
      }
      if (opts.horizon !== undefined && !opts.backtest)
        throw new ConfigError('--horizon goes with --backtest; for p_return use --set returnHorizonDays=N');
      await withEngine(cmd, async (engine) => {
        if (opts.backtest) {
          const b = await engine.backtest({
            ...settings,
            ...(now !== undefined ? { now } : {}),
            ...(horizonDays !== undefined ? { horizonDays } : {}),
          });
          process.stdout.write(opts.json ? `${JSON.stringify(b)}\n` : `${formatBacktest(b)}\n`);
          return;
        }
        if (opts.ifStale) {
          const st = await scoreStaleness(engine.ctx);
          if (!st.stale) {
            process.stdout.write(
              opts.json
                ? `${JSON.stringify({ skipped: st.reason })}\n`
                : `scores are ${st.reason === 'fresh' ? 'fresh' : 'being computed by another run'}; nothing to do\n`,
            );
            return;
          }
          Object.assign(settings, { ...st.settings, ...settings });
        }
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              {
                format: 'scoring {phase} [{bar}] {percentage}% | {value}/{total} customers | {eta_formatted} left',
                stream: process.stderr,
              },
              cliProgress.Presets.shades_classic,
            )
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
