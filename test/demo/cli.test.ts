/**
 * `comeback demo` as someone tries it first: from any folder, with the examples shipped with
 * Comeback when the folder has no sequences of its own.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { demoSources } from '../../src/demo/examples.js';
import { ensureBuilt, exited, ROOT } from '../worker/fixture.js';

beforeAll(() => ensureBuilt(), 120_000);

it('runs from an empty folder with the shipped example sequences and templates, and writes mails there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-demo-cli-'));
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/comeback.js'), 'demo', '--customers', '80', '--days', '14', '--no-serve'],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  expect(await exited(child)).toBe(0);
  expect(err).toContain(`sequences from ${join(ROOT, 'sequences')}, templates from ${join(ROOT, 'templates')}`);
  const written = Number(/(\d+) mails written to outbox\//.exec(out)?.[1]);
  expect(written).toBeGreaterThan(0);
  const files = readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'));
  expect(files).toHaveLength(written);
  expect(readFileSync(join(dir, 'outbox', files[0]!), 'utf8')).toContain(
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
  );
}, 60_000);

it("prefers the folder's own sequences and templates, and folders given on the command line", () => {
  const project = mkdtempSync(join(tmpdir(), 'comeback-demo-project-'));
  expect(demoSources({}, ROOT)).toEqual({
    sequencesDir: join(ROOT, 'sequences'),
    templatesDir: join(ROOT, 'templates'),
  });
  expect(demoSources({ sequencesDir: 'mine', templatesDir: '/abs/t' }, project)).toEqual({
    sequencesDir: join(project, 'mine'),
    templatesDir: '/abs/t',
  });
  expect(demoSources({}, project)).toEqual({
    sequencesDir: join(ROOT, 'sequences'),
    templatesDir: join(ROOT, 'templates'),
  });
});
