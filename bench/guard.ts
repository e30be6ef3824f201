/**
 * Guard simulation: 30-day campaigns of 20,000 mails checked every minute with the default
 * thresholds: how often a sender at an acceptable rate is paused (false pauses), and how often a
 * harmful one is paused in time. The naive baseline is the raw-rate guard it replaced (pause at
 * ≥ 0.3% complaints or ≥ 5% hard bounces from 200 sends), judged on the same campaigns.
 *   npm run bench -- guard [--campaigns 100000] [--seed 1] [--json]
 * ops_per_s: simulated campaigns per second.
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import {
  DEFAULT_GUARD_THRESHOLDS,
  guardScenarios,
  simulateGuard,
  type GuardThresholds,
} from '../src/metrics/stats/index.js';
import { report } from './report.js';

/** The raw-rate rule as the sequential test's parameters: pause as soon as the rate reaches the limit. */
function rawRate(): GuardThresholds {
  // Evidence just above 1 at a "harmful" rate a hair above the limit and an acceptable rate just
  // below it pauses exactly when the raw rate reaches the limit (with 200 sends and 1 event).
  return {
    ...DEFAULT_GUARD_THRESHOLDS,
    complaintWarn: 0.00299,
    complaintPause: 0.00301,
    complaintEvidence: 1.0000001,
    hardBounceWarn: 0.0499,
    hardBouncePause: 0.0501,
    hardBounceEvidence: 1.0000001,
    minEvents: 1,
  };
}

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      campaigns: { type: 'string', default: '100000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const campaigns = Number(values.campaigns);
  const seed = Number(values.seed);
  const json = values.json ?? false;
  const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
  const lines: string[] = [];
  let i = 0;
  for (const { name, scenario, target } of guardScenarios()) {
    const s = seed * 100 + i++;
    let started = performance.now();
    const r = simulateGuard(scenario, campaigns, s);
    const perS = campaigns / ((performance.now() - started) / 1000);
    started = performance.now();
    const naive = simulateGuard(scenario, campaigns, s, rawRate());
    const basePerS = campaigns / ((performance.now() - started) / 1000);
    const goal =
      target.maxPaused !== undefined
        ? `paused ≤ ${pct(target.maxPaused)}`
        : `paused by mail ${scenario.within} ≥ ${pct(target.minPausedWithin!)}`;
    if (json)
      report(
        {
          name: `guard ${name}`,
          ops_per_s: perS,
          baseline_ops_per_s: basePerS,
          ...r,
          baseline_paused: naive.paused,
          baseline_paused_within: naive.pausedWithin,
        },
        true,
      );
    lines.push(
      `| ${name} | ${goal} | ${pct(r.paused)} | ${pct(r.pausedWithin)} (by mail ${scenario.within}) | ${r.medianMailsAtPause ?? '—'} | ${pct(naive.paused)} | ${pct(naive.pausedWithin)} |`,
    );
  }
  if (json) return;
  process.stdout.write(
    `${campaigns} campaigns per scenario, seed ${seed}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n\n`,
  );
  process.stdout.write(
    '| sender | target | paused | paused in time | median mails at pause | raw-rate guard: paused | raw-rate: in time |\n| --- | --- | --- | --- | --- | --- | --- |\n',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}
