/**
 * Validation benchmark: `comeback validate` over a folder of N sequence files (default 1,000,
 * generated from the examples with their own ids and thresholds), beside a naive validator that
 * checks each file on its own: fresh template store (every referenced template expanded and
 * compiled again for every file), no compiled-expression or subject caches.
 *   npm run bench -- validate [--files 1000] [--baseline-files 40] [--json]
 * Prints two lines: with the template checks (what `comeback validate` does), and the sequence
 * files alone (YAML, schema, rules across keys and files, conditions).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatProblem } from '../src/errors.js';
import { clearExpressionCache } from '../src/sequences/expressions.js';
import { crossCheck, fileResult, parseSequence } from '../src/sequences/loader.js';
import { checkReferences } from '../src/sequences/references.js';
import { validatePaths } from '../src/sequences/validate.js';
import { TemplateStore } from '../src/templates/store.js';
import { peakRssMiB, report } from './report.js';

const EXAMPLES = ['winback-lapsed', 'winback-reasons', 'subscription-cancelled', 'welcome-back'];

/** Writes `count` sequence files: the four examples over and over, ids and thresholds varied. */
function generate(root: string, count: number): { dir: string; files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-bench-validate-'));
  const sources = EXAMPLES.map((e) => readFileSync(join(root, 'sequences', `${e}.yaml`), 'utf8'));
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const group = Math.floor(i / EXAMPLES.length);
    const text = sources[i % EXAMPLES.length]!.replace(/^id: (\S+)/m, (_m, id: string) => `id: ${id}-${group}`)
      .replace(/start: welcome-back/g, `start: welcome-back-${group}`)
      .replace(/total_spent (<|>=) 150/g, (_m, op: string) => `total_spent ${op} ${100 + group}`);
    const file = join(dir, `${String(i).padStart(4, '0')}.yaml`);
    writeFileSync(file, text);
    files.push(file);
  }
  return { dir, files };
}

/** The naive validator: every file on its own, nothing shared or cached between files. */
async function naive(files: string[], templatesDir: string, templates: boolean): Promise<number> {
  let problems = 0;
  for (const file of files) {
    clearExpressionCache();
    const parsed = parseSequence(readFileSync(file, 'utf8'), file);
    problems +=
      parsed.problems.length +
      crossCheck([fileResult(parsed, file, '')]).filter((p) => !p.message.startsWith('no sequence')).length;
    if (templates)
      problems += (
        await checkReferences([parsed], new TemplateStore(templatesDir, 'en', { checkIntervalMs: 0 }), {
          checkTemplates: true,
        })
      ).length;
  }
  return problems;
}

/** Wall and CPU seconds of one call. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const value = await fn();
  const used = process.cpuUsage(cpu);
  return { value, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/**
 * Engine and baseline run alternately, three times each, and the best round of each counts: neither
 * profits from the other's JIT warm-up, and a burst of load on a shared machine hits one round.
 */
async function measure(
  name: string,
  files: string[],
  dir: string,
  templatesDir: string,
  templates: boolean,
  baselineFiles: number,
  json: boolean,
): Promise<void> {
  const sample = files.slice(0, baselineFiles);
  let engine = { seconds: Infinity, cpuSeconds: Infinity };
  let base = { seconds: Infinity, cpuSeconds: Infinity };
  for (let round = 0; round < 3; round++) {
    clearExpressionCache();
    const e = await timed(() => validatePaths([dir], { templatesDir: templates ? templatesDir : false, cwd: dir }));
    if (e.value.problems.length > 0)
      throw new Error(
        `generated files should be valid:\n${e.value.problems.slice(0, 5).map(formatProblem).join('\n')}`,
      );
    const b = await timed(() => naive(sample, templatesDir, templates));
    if (b.value > 0) throw new Error('the naive validator found problems the engine did not');
    engine = { seconds: Math.min(engine.seconds, e.seconds), cpuSeconds: Math.min(engine.cpuSeconds, e.cpuSeconds) };
    base = { seconds: Math.min(base.seconds, b.seconds), cpuSeconds: Math.min(base.cpuSeconds, b.cpuSeconds) };
  }
  report(
    {
      name,
      ops_per_s: files.length / engine.seconds,
      baseline_ops_per_s: sample.length / base.seconds,
      files: files.length,
      seconds: Number(engine.seconds.toFixed(2)),
      // CPU figures beside wall time: on a shared machine the wall time includes waiting for a core.
      cpu_ops_per_s: Math.round(files.length / engine.cpuSeconds),
      baseline_cpu_ops_per_s: Math.round(sample.length / base.cpuSeconds),
      baseline_files: sample.length,
      peak_rss_mib: peakRssMiB(),
    },
    json,
  );
}

/** Runs the benchmark. */
export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      files: { type: 'string', default: '1000' },
      'baseline-files': { type: 'string', default: '40' },
      json: { type: 'boolean', default: false },
    },
  });
  const root = join(import.meta.dirname, '../..');
  const templatesDir = join(root, 'templates');
  const { dir, files } = generate(root, Number(values.files));
  // Warm up both paths (JIT, module loading) on a few files, so neither pays for it in its figure.
  const warm = generate(root, 40);
  await validatePaths([warm.dir], { templatesDir: false, cwd: warm.dir });
  await naive(warm.files, templatesDir, false);
  try {
    await measure(
      'validate_sequences_with_templates',
      files,
      dir,
      templatesDir,
      true,
      Number(values['baseline-files']),
      values.json,
    );
    await measure(
      'validate_sequences_only',
      files,
      dir,
      templatesDir,
      false,
      Math.min(files.length, Number(values['baseline-files']) * 10),
      values.json,
    );
  } finally {
    for (const d of [dir, warm.dir]) rmSync(d, { recursive: true, force: true });
  }
}
