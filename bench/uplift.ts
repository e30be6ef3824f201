/**
 * Uplift simulation: how often the 95% intervals cover the known truth, and how often they call a
 * zero effect "significant", on lognormal order values (σ 1.5 and 2) at 2,000/200 and 18,000/2,000
 * enrolments. The product's two-part lognormal interval beside the textbook Welch interval
 * (the naive baseline), and the conversion interval (Newcombe).
 *   npm run bench -- uplift [--replications 2000] [--seed 1] [--json]
 * ops_per_s: replications per second of the whole simulation (every interval computed).
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { simulateUplift, upliftScenarios, type UpliftCoverage } from '../src/metrics/stats/index.js';
import { report } from './report.js';

export async function run(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      replications: { type: 'string', default: '2000' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
  });
  const reps = Number(values.replications);
  const seed = Number(values.seed);
  const json = values.json ?? false;
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows: [string, UpliftCoverage][] = [];
  let i = 0;
  for (const { name, scenario } of upliftScenarios()) {
    const started = performance.now();
    const r = simulateUplift(scenario, reps, seed * 1000 + i++);
    const seconds = (performance.now() - started) / 1000;
    rows.push([name, r]);
    if (json)
      report(
        { name: `uplift ${name}`, ops_per_s: reps / seconds, baseline_ops_per_s: reps / seconds, ratio: 1, ...r },
        true,
      );
  }
  if (json) return;
  process.stdout.write(
    `${reps} replications per scenario, seed ${seed}, load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(' ')}\n\n`,
  );
  process.stdout.write(
    '| scenario | conversion coverage | conversion "significant" | revenue coverage (two-part) | revenue "significant" (two-part) | revenue coverage (Welch) | revenue "significant" (Welch) |\n',
  );
  process.stdout.write('| --- | --- | --- | --- | --- | --- | --- |\n');
  for (const [name, r] of rows) {
    const na = r.revenueUnavailable > 0 ? ` (${r.revenueUnavailable} without)` : '';
    process.stdout.write(
      `| ${name} | ${pct(r.conversionCoverage)} | ${pct(r.conversionSignificant)} | ${pct(r.revenueCoverage)}${na} | ${pct(r.revenueSignificant)} | ${pct(r.welchCoverage)} | ${pct(r.welchSignificant)} |\n`,
    );
  }
}
