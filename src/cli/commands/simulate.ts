import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { HOUR, DAY } from '../../clock.js';
import { parseConfig } from '../../config/index.js';
import type { Engine } from '../../engine/engine.js';
import { NotFoundError, ValidationError } from '../../errors.js';
import { parseDuration } from '../../sequences/duration.js';
import { loadSequences, parseSequence } from '../../sequences/loader.js';
import type { Sequence } from '../../sequences/schema.js';
import {
  customersFromFile,
  DEFAULT_ASSUMPTIONS,
  describeAssumptions,
  NO_ENGAGEMENT,
  scratchEngine,
  simulate,
  simulationTable,
  syntheticCustomers,
  type Assumptions,
} from '../../simulate/index.js';
import { conversionMde, holdoutAdvice, PLAUSIBLE_EFFECT } from '../../metrics/stats/index.js';
import { closest } from '../../util/did-you-mean.js';
import { currencyDigits } from '../../util/money.js';
import { parseTimeOption } from '../../util/time.js';
import { loadCliConfig } from '../config-file.js';
import { engineFor, type GlobalOptions } from '../context.js';

/** Start of a synthetic simulation: a fixed date, so that a seed always gives the same table. */
const SYNTHETIC_START = Date.UTC(2026, 2, 2, 6);

const num = (what: string, min: number, max: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`${what}: expected a number from ${min} to ${max}, got "${v}"`);
  return n;
};

/** A sequence by file path, or by id among the configured sequences. */
export function findSequence(ref: string, sequencesDir: string): Sequence {
  if (existsSync(ref) && /\.ya?ml$/.test(ref)) {
    const { sequence, problems } = parseSequence(readFileSync(ref, 'utf8'), ref);
    if (!sequence) throw new ValidationError(problems);
    return sequence;
  }
  const all = existsSync(sequencesDir) ? loadSequences([sequencesDir]) : [];
  const found = all.find((s) => s.definition.id === ref);
  if (!found) {
    const hint = closest(
      ref,
      all.map((s) => s.definition.id),
    );
    const known =
      all.map((s) => s.definition.id).join(', ') || `none (nothing was loaded from ${resolve(sequencesDir)})`;
    throw new NotFoundError('sequence', ref, hint ? `Did you mean "${hint}"?` : `Give a file path or one of: ${known}`);
  }
  return found.definition;
}

interface SimulateOpts {
  customers?: string;
  synthetic?: number;
  days: number;
  seed: number;
  start?: string;
  tick: string;
  engagement: boolean;
  openRate?: number;
  clickRate?: number;
  purchaseRate?: number;
  baselineRate?: number;
  json?: boolean;
  sends?: string;
}

/** `comeback simulate SEQUENCE [--customers FILE|--synthetic N] [--days N]` */
export function register(program: Command): void {
  program
    .command('simulate')
    .description(
      'replay a sequence day by day on a manual clock through the real step machine; nothing is sent or stored',
    )
    .argument('<sequence>', 'sequence file or id')
    .option('--customers <file>', 'customers with orders and consent (JSON Lines); default: the configured database')
    .addOption(
      new Option('--synthetic <n>', 'a synthetic shop of N customers instead')
        .argParser(num('--synthetic', 1, 1_000_000))
        .conflicts('customers'),
    )
    .addOption(new Option('--days <n>', 'days to simulate').default(60).argParser(num('--days', 1, 3650)))
    .addOption(new Option('--seed <n>', 'seed of the synthetic shop').default(42).argParser(num('--seed', 0, 2 ** 31)))
    .option('--start <time>', 'first day (ISO 8601); default: now, or 2026-03-02T06:00Z for --synthetic')
    .option('--tick <duration>', 'how often the simulated worker runs', '1h')
    .option('--no-engagement', 'assume nobody opens, clicks, buys or unsubscribes')
    .addOption(
      new Option('--open-rate <x>', `human opens of a first mail (default ${DEFAULT_ASSUMPTIONS.firstOpen})`).argParser(
        num('--open-rate', 0, 1),
      ),
    )
    .addOption(
      new Option('--click-rate <x>', `clicks given an open (default ${DEFAULT_ASSUMPTIONS.clickGivenOpen})`).argParser(
        num('--click-rate', 0, 1),
      ),
    )
    .addOption(
      new Option(
        '--purchase-rate <x>',
        `purchases given a click (default ${DEFAULT_ASSUMPTIONS.purchaseGivenClick})`,
      ).argParser(num('--purchase-rate', 0, 1)),
    )
    .addOption(
      new Option(
        '--baseline-rate <x>',
        `purchases per customer and day without mail (default ${DEFAULT_ASSUMPTIONS.dailyBaselinePurchase})`,
      ).argParser(num('--baseline-rate', 0, 1)),
    )
    .option('--json', 'print the result as JSON')
    .option('--sends <file>', 'write every simulated send as JSON Lines')
    .action(async (ref: string, o: SimulateOpts, cmd: Command) => {
      const g = cmd.optsWithGlobals<GlobalOptions>();
      const config = parseConfig(loadCliConfig(g.config));
      const seq = findSequence(ref, config.sequencesDir);
      const tick = parseDuration(o.tick);
      const synthetic = o.synthetic !== undefined || o.customers !== undefined;
      const start = o.start
        ? parseTimeOption(o.start, '--start')
        : synthetic
          ? SYNTHETIC_START
          : Math.floor(Date.now() / HOUR) * HOUR;
      const base = o.engagement ? DEFAULT_ASSUMPTIONS : NO_ENGAGEMENT;
      const assumptions: Assumptions = {
        ...base,
        ...(o.openRate !== undefined
          ? {
              firstOpen: o.openRate,
              laterOpen: Math.min(1, o.openRate * (base.laterOpen / Math.max(base.firstOpen, 1e-9) || 1.8)),
            }
          : {}),
        ...(o.clickRate !== undefined ? { clickGivenOpen: o.clickRate } : {}),
        ...(o.purchaseRate !== undefined ? { purchaseGivenClick: o.purchaseRate } : {}),
        ...(o.baselineRate !== undefined ? { dailyBaselinePurchase: o.baselineRate } : {}),
      };
      let engine: Engine;
      let dispose: () => Promise<void>;
      let source: string;
      if (o.synthetic !== undefined || o.customers) {
        const customers = o.customers
          ? customersFromFile(o.customers)
          : syntheticCustomers(o.synthetic!, o.seed, start);
        ({ engine, dispose } = await scratchEngine(customers, start));
        source = o.customers
          ? `${customers.length} customers from ${o.customers}`
          : `${o.synthetic} synthetic customers (seed ${o.seed})`;
      } else {
        const real = await engineFor(cmd, { sequences: [] });
        engine = real;
        dispose = () => real.close();
        source = `the customers in ${config.database}`;
      }
      try {
        const result = await simulate(engine.ctx.k, seq, {
          start,
          days: o.days,
          tickMs: tick,
          assumptions,
          currencyDigits: currencyDigits(config.defaults.currency),
          preferredHourMinOpens: config.worker.preferredHourMinOpens,
          minExplorationShare: config.guard.minExplorationShare,
          controlGroup: config.controlGroup,
        });
        if (o.sends)
          writeFileSync(
            o.sends,
            result.sends.map((s) => JSON.stringify(s)).join('\n') + (result.sends.length ? '\n' : ''),
          );
        const power = holdoutPower(
          seq,
          result.rows.reduce((n, r) => n + r.entered, 0),
          assumptions,
        );
        if (o.json) {
          process.stdout.write(
            `${JSON.stringify({ ...result, sends: result.sends.length, holdoutPower: power }, null, 2)}\n`,
          );
          return;
        }
        const out = process.stdout;
        out.write(
          `Simulation of ${seq.id} v${seq.version} over ${source}, ${o.days} days from ${new Date(start).toISOString()} (worker every ${o.tick}; nothing is sent)\n`,
        );
        out.write(`Assumptions: ${describeAssumptions(assumptions)}.\n`);
        if (seq.audience.trigger)
          out.write(`Trigger "${seq.audience.trigger}": every customer is assumed to trigger on day 1.\n`);
        if (seq.frequency_cap)
          out.write('Frequency cap: counts this sequence only (other sequences are not simulated).\n');
        out.write(`\n${simulationTable(result)}\n`);
        out.write(
          `\n${result.sends.length} mails in ${o.days} days (${(result.sends.length / o.days).toFixed(1)} per day), simulated until ${new Date(start + o.days * DAY).toISOString().slice(0, 10)}\n`,
        );
        if (power?.warning) process.stderr.write(`warning: ${power.warning}\n`);
      } finally {
        await dispose();
      }
    });
}

/**
 * Whether the sequence's holdout can show a plausible effect (+2 pp) for the audience the
 * simulation enrolled, at the baseline conversion the assumptions imply over the goal window.
 * Null without a holdout or an audience; `warning` is set when it cannot, saying what share would.
 */
export function holdoutPower(
  seq: Sequence,
  audience: number,
  assumptions: Assumptions,
): {
  audience: number;
  holdoutShare: number;
  baseline: number;
  minimumDetectableEffect: number;
  neededShare: number | null;
  warning: string | null;
} | null {
  if (!(seq.holdout > 0) || audience === 0) return null;
  const windowDays = (seq.goal?.purchase ? parseDuration(seq.goal.purchase.within) : 30 * DAY) / DAY;
  // Without a daily baseline assumption, assume 2% come back on their own within the window.
  const baseline =
    assumptions.dailyBaselinePurchase > 0 ? 1 - (1 - assumptions.dailyBaselinePurchase) ** windowDays : 0.02;
  const advice = holdoutAdvice(audience, seq.holdout, baseline);
  const effect = `+${(PLAUSIBLE_EFFECT * 100).toFixed(0)} pp`;
  const base = { audience, holdoutShare: seq.holdout, baseline, neededShare: advice?.neededShare ?? null };
  if (!advice) return { ...base, minimumDetectableEffect: holdoutMde(audience, seq.holdout, baseline), warning: null };
  const now = `${seq.id}: a ${(seq.holdout * 100).toFixed(0)}% holdout of ${audience} enrolments can only show uplifts from +${(advice.mde * 100).toFixed(1)} pp (baseline ${(baseline * 100).toFixed(1)}%), and a win-back mail plausibly adds about ${effect}`;
  const fix =
    advice.neededShare !== null
      ? `; a holdout of ${(advice.neededShare * 100).toFixed(0)}% would show ${effect}`
      : `; even a 50% holdout could not show ${effect}: the audience is too small to measure the uplift`;
  return { ...base, minimumDetectableEffect: advice.mde, warning: now + fix };
}

function holdoutMde(audience: number, share: number, baseline: number): number {
  const h = Math.round(audience * share);
  return conversionMde(baseline, audience - h, h);
}
