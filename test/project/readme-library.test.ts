/**
 * The README's library example runs as it is written: its code block is taken from the README,
 * pointed at the built package, and run with node in a project folder.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/index.js';
import { ensureBuilt, ROOT } from '../worker/fixture.js';

/** The first ```ts block after the "## The library" heading. */
function libraryExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## The library'));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m) throw new Error('README.md: no ```ts block under "## The library"');
  return m[1]!;
}

beforeAll(ensureBuilt, 120_000);

describe("the README's library example", () => {
  it('runs as written in a project folder, and says why its pass sends nothing yet', async () => {
    const code = libraryExample();
    expect(code).toContain("from 'comeback'");
    const dir = mkdtempSync(join(tmpdir(), 'comeback-readme-'));
    for (const d of ['sequences', 'templates']) cpSync(join(ROOT, d), join(dir, d), { recursive: true });
    const entry = pathToFileURL(join(ROOT, 'dist/src/index.js')).href;
    writeFileSync(join(dir, 'example.mjs'), code.replace("from 'comeback'", `from '${entry}'`));
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMEBACK_')));
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: dir, encoding: 'utf8', env });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('sent now: 0');
    expect(r.stdout).toContain('subscription-cancelled');
    expect(existsSync(join(dir, 'outbox')) ? readdirSync(join(dir, 'outbox')) : []).toEqual([]);

    // Anna waits in subscription-cancelled for its first step, a day after the trigger.
    const engine = await createEngine({
      database: join(dir, 'shop.db'),
      sequencesDir: join(dir, 'sequences'),
      templatesDir: join(dir, 'templates'),
    });
    try {
      const e = await engine.ctx.k
        .selectFrom('enrollments')
        .select(['sequence_id', 'status', 'enrolled_at', 'next_due_at'])
        .execute();
      expect(e).toHaveLength(1);
      expect(e[0]).toMatchObject({ sequence_id: 'subscription-cancelled', status: 'active' });
      expect(Number(e[0]!.next_due_at) - Number(e[0]!.enrolled_at)).toBeGreaterThanOrEqual(86_400_000);
    } finally {
      await engine.close();
    }
  });
});
