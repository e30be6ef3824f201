/**
 * Benchmark dispatcher: `npm run bench -- NAME [--json] [args]` runs bench/NAME.ts (compiled).
 * Every benchmark prints the engine's figure beside a naive baseline measured in the same run.
 */
import { readdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.js') && !['run.js', 'report.js'].includes(f))
  .map((f) => f.slice(0, -3))
  .filter((n) => !n.startsWith('_'));

const [name, ...args] = process.argv.slice(2);
if (!name || !available.includes(name)) {
  process.stderr.write(`usage: npm run bench -- NAME [--json] [options]\navailable: ${available.join(', ')}\n`);
  process.exit(name ? 1 : 0);
}
const mod = (await import(`./${name}.js`)) as { run: (args: string[]) => Promise<void> };
await mod.run(args);
process.exit(0);
