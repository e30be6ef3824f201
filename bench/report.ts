/** One benchmark result line: the engine's figure beside its naive baseline. */
export interface BenchResult {
  name: string;
  ops_per_s: number;
  baseline_ops_per_s: number;
  ratio: number;
  [extra: string]: unknown;
}

/** Prints a result: one JSON object per line with `--json`, a readable line otherwise. */
export function report(
  result: { name: string; ops_per_s: number; baseline_ops_per_s: number; ratio?: number; [extra: string]: unknown },
  json: boolean,
): void {
  const full: BenchResult = {
    ...result,
    ratio: result.ratio ?? Number((result.ops_per_s / Math.max(result.baseline_ops_per_s, 1e-9)).toFixed(2)),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify(full)}\n`);
    return;
  }
  const extras = Object.entries(full)
    .filter(([k]) => !['name', 'ops_per_s', 'baseline_ops_per_s', 'ratio'].includes(k))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(
    `${full.name}: ${Math.round(full.ops_per_s).toLocaleString('en')} ops/s vs baseline ${Math.round(full.baseline_ops_per_s).toLocaleString('en')} ops/s → ratio ${full.ratio}${extras ? `  (${extras})` : ''}\n`,
  );
}

/** Peak resident set size of this process so far, in MiB. */
export function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}
