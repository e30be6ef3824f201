import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { validatePaths } from '../../src/sequences/validate.js';

/**
 * The corpus of broken sequences: every file ends with `# expect: LINE:COL PATH: MESSAGE` lines
 * and `comeback validate` must report exactly those problems, at exactly those places.
 */
const dir = 'test/sequences/broken';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function expected(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('# expect: '))
    .map((l) => l.slice('# expect: '.length));
}

describe('broken sequence corpus', () => {
  it('has at least 40 files, each stating what it expects', () => {
    expect(files.length).toBeGreaterThanOrEqual(40);
    for (const f of files) expect(expected(join(dir, f)), f).not.toHaveLength(0);
  });

  it.each(files)('%s: reports exactly the expected problems at their positions', async (f) => {
    const file = join(dir, f);
    const { problems } = await validatePaths([file], { templatesDir: 'templates', checkTemplates: false });
    expect(problems.every((p) => p.file === file)).toBe(true);
    expect(problems.map((p) => formatProblem(p).slice(file.length + 1))).toEqual(expected(file));
  });

  it('reports every problem of a folder in one run', async () => {
    const { problems } = await validatePaths([dir], { templatesDir: 'templates', checkTemplates: false });
    const total = files.reduce((n, f) => n + expected(join(dir, f)).length, 0);
    expect(problems).toHaveLength(total);
  });
});
