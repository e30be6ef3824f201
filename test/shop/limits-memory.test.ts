/**
 * A 50 MB field (CSV and JSON Lines) and a 10 MB YAML string are refused without reading the rest
 * of the input into memory: each runs in its own process (the build in dist/), which reports its
 * peak resident memory above what it used before, and the time the refusal took.
 */
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from '../worker/fixture.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'comeback-limits-memory-'));

/** Writes `before`, then `size` bytes of `x` in 1 MiB chunks, then `after`. */
async function bigFile(name: string, before: string, size: number, after: string): Promise<string> {
  const f = join(dir, name);
  const out = createWriteStream(f);
  out.write(before);
  const chunk = 'x'.repeat(MiB);
  for (let n = 0; n < size; n += MiB) if (!out.write(chunk)) await once(out, 'drain');
  out.end(after);
  await once(out, 'finish');
  return f;
}

/** Runs in a child process: warms up on a small input, then measures the big one. */
const PROBE = `
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
const [root, mode, small, big, work] = process.argv.slice(2);
const lib = (p) => import(pathToFileURL(join(root, 'dist/src', p)).href);
let run;
if (mode === 'validate') {
  const { validatePaths } = await lib('sequences/validate.js');
  run = async (f) => (await validatePaths([f], { templatesDir: false })).problems.map((p) => p.message);
} else {
  const { createEngine } = await lib('index.js');
  const { MemoryTransport } = await lib('testing.js');
  const engine = await createEngine({ database: join(work, mode + '.db'), sequencesDir: join(work, 'none') }, { transport: new MemoryTransport() });
  run = async (f) => { const r = await engine.import('customers', f); return { imported: r.imported, rejected: r.rejected }; };
}
await run(small);
const before = process.memoryUsage().rss;
const started = performance.now();
const result = await run(big);
const ms = performance.now() - started;
const extra = process.resourceUsage().maxRSS * 1024 - before;
process.stdout.write(JSON.stringify({ result, ms, extraMiB: extra / 1048576 }));
process.exit(0);
`;

async function probe(
  mode: string,
  small: string,
  big: string,
): Promise<{ result: unknown; ms: number; extraMiB: number }> {
  const script = join(dir, 'probe.mjs');
  writeFileSync(script, PROBE);
  const { stdout } = await promisify(execFile)(process.execPath, [script, ROOT, mode, small, big, dir], {
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(stdout) as { result: unknown; ms: number; extraMiB: number };
}

describe('limits hold without reading the input', () => {
  beforeAll(() => ensureBuilt(), 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a 50 MB first_name in CSV: the row is refused, the rows around it imported, < 100 MB extra memory', async () => {
    const small = join(dir, 'small.csv');
    writeFileSync(small, 'external_id,email,first_name\nw1,w1@example.com,Wim\n');
    const big = await bigFile(
      'big.csv',
      'external_id,email,first_name\nc1,a@example.com,Ann\nc2,b@example.com,',
      50 * MiB,
      '\nc3,c@example.com,Cy\n',
    );
    const r = await probe('csv', small, big);
    console.log(`50 MB CSV field refused in ${r.ms.toFixed(0)} ms, ${r.extraMiB.toFixed(1)} MiB extra peak memory`);
    expect(r.result).toEqual({
      imported: 2,
      rejected: [{ line: 3, reason: expect.stringContaining('line longer than 1 MiB') }],
    });
    expect(r.extraMiB).toBeLessThan(100);
  }, 120_000);

  it('a 50 MB first_name in JSON Lines: the same', async () => {
    const small = join(dir, 'small.jsonl');
    writeFileSync(small, '{"external_id":"w1"}\n');
    const big = await bigFile(
      'big.jsonl',
      '{"external_id":"c1"}\n{"external_id":"c2","first_name":"',
      50 * MiB,
      '"}\n{"external_id":"c3"}\n',
    );
    const r = await probe('jsonl', small, big);
    console.log(
      `50 MB JSON Lines field refused in ${r.ms.toFixed(0)} ms, ${r.extraMiB.toFixed(1)} MiB extra peak memory`,
    );
    expect(r.result).toEqual({
      imported: 2,
      rejected: [{ line: 2, reason: expect.stringContaining('line longer than 1 MiB') }],
    });
    expect(r.extraMiB).toBeLessThan(100);
  }, 120_000);

  it('a 10 MB YAML string: the sequence file is refused from its size, < 100 MB extra memory', async () => {
    const small = join(dir, 'small.yaml');
    writeFileSync(small, 'id: small\nname: Small\n');
    const big = await bigFile('big.yaml', 'id: big\nname: "', 10 * MiB, '"\n');
    const r = await probe('validate', small, big);
    console.log(`10 MB YAML string refused in ${r.ms.toFixed(1)} ms, ${r.extraMiB.toFixed(1)} MiB extra peak memory`);
    expect(r.result).toEqual(['the file is 10 MiB, larger than the limit of 256 KiB for a sequence file']);
    expect(r.extraMiB).toBeLessThan(100);
  }, 120_000);
});
