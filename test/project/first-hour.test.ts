/**
 * A newcomer's first commands, run as the built CLI in a folder of their own: a folder without a
 * config gets no stray database, human output is plain text on the right stream, and
 * `comeback validate` reports every problem of a file at once.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { runCliInProcess } from '../helpers/cli.js';
import { ensureBuilt, ROOT } from '../worker/fixture.js';

const BIN = join(ROOT, 'bin/comeback.js');
const folder = () => mkdtempSync(join(tmpdir(), 'comeback-first-'));

/** Runs the built CLI in `cwd` with the environment a newcomer has (no COMEBACK_* variables). */
function comeback(cwd: string, ...args: string[]): { status: number | null; out: string; err: string } {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('COMEBACK_')));
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd, encoding: 'utf8', env });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

/** No line of a command's output is a pino JSON object. */
function expectNoJsonLines(text: string): void {
  expect(text.split('\n').filter((l) => l.startsWith('{"level"'))).toEqual([]);
}

/** Runs a command in this process, in `cwd`, without COMEBACK_* variables; what it printed. */
async function inFolder(cwd: string, ...args: string[]): Promise<{ out: string; err: string }> {
  const saved = Object.entries(process.env).filter(([k]) => k.startsWith('COMEBACK_'));
  for (const [k] of saved) delete process.env[k];
  process.chdir(cwd);
  try {
    return await runCliInProcess(args);
  } finally {
    process.chdir(ROOT);
    for (const [k, v] of saved) process.env[k] = v;
  }
}

beforeAll(ensureBuilt, 120_000);
afterEach(() => {
  process.exitCode = undefined;
});

describe('a folder without a config', () => {
  it('refuses to create a stray database: stats, import and worker name the fix and leave the folder as it was', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'customers.csv'), 'external_id,email\nc1,anna@example.com\n');
    const r = comeback(dir, 'import', 'customers', 'customers.csv');
    expect(r.status).toBe(1);
    expect(r.err).toContain(`error: no comeback.config.json, .yaml or .yml in ${dir}, and no comeback.db`);
    expect(r.err).toContain('comeback init');
    expect(r.err).toContain('--config FILE');
    for (const args of [['stats'], ['worker', '--once']]) {
      await expect(inFolder(dir, ...args), args.join(' ')).rejects.toThrow(ConfigError);
    }
    expect(readdirSync(dir)).toEqual(['customers.csv']);
  });

  it('runs on the defaults where comeback.db already is, and says so; --db chooses a database without a note', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'customers.csv'), 'external_id,email\nc1,anna@example.com\n');
    const first = await inFolder(dir, '--db', 'comeback.db', 'import', 'customers', 'customers.csv');
    expect(first.err).toBe('');
    expect(first.out).toMatch(/^imported 1 customer in /);
    const again = await inFolder(dir, 'worker', '--once', '--no-status');
    expect(again.err).toContain(`note: no comeback.config.* in ${dir}; using the defaults (database comeback.db`);
    // One-shot commands log plain text: the missing sequences folder is a readable warning.
    expect(again.err).toContain('warning: no sequences loaded: the folder does not exist');
    expectNoJsonLines(again.err);
    expect(again.out).toContain('sent 0, retrying 0, failed 0, uncertain 0');
  });
});

describe('a project that will send over SMTP', () => {
  it('is not warned about its demo settings on every import: only the worker, which sends, names them', async () => {
    const dir = folder();
    const config = { database: 'shop.db', transport: { type: 'smtp', url: 'smtp://127.0.0.1:2525' } };
    writeFileSync(join(dir, 'comeback.config.json'), JSON.stringify(config));
    writeFileSync(join(dir, 'customers.csv'), 'external_id,email\nc1,anna@example.com\nc2,ben@example.com\n');
    const r = await inFolder(dir, 'import', 'customers', 'customers.csv');
    expect(r.err).toBe('');
    expect(r.out).toMatch(/^imported 2 customers in /);
  });
});

describe('comeback validate', () => {
  it('prints every problem of a file in one run on stdout, and its success line on stdout', async () => {
    const dir = folder();
    mkdirSync(join(dir, 'sequences'));
    copyFileSync(join(ROOT, 'test/sequences/broken/several-kinds-at-once.yaml'), join(dir, 'sequences/broken.yaml'));
    const bad = comeback(dir, 'validate', '--templates', join(ROOT, 'templates'), 'sequences/broken.yaml');
    expect(bad.status).toBe(1);
    const lines = bad.out.trim().split('\n');
    // Schema, value rules, template references and subject variables, top to bottom.
    expect(lines.map((l) => l.split(' ')[0])).toEqual(
      ['5:26', '6:10', '9:15', '10:14', '12:11', '14:56'].map((p) => `sequences/broken.yaml:${p}`),
    );
    expect(bad.out).toContain('unknown variable "frist_name"; did you mean "first_name"?');
    expect(bad.err).toBe('6 problems in 1 file\n');

    for (const f of ['winback-lapsed.yaml', 'welcome-back.yaml'])
      copyFileSync(join(ROOT, 'sequences', f), join(dir, 'sequences', f));
    const good = await inFolder(
      dir,
      'validate',
      '--templates',
      join(ROOT, 'templates'),
      'sequences/winback-lapsed.yaml',
      'sequences/welcome-back.yaml',
    );
    expect(good.out).toBe('2 sequence files valid\n');
    expect(good.err).toBe('');
    expect(existsSync(join(dir, 'comeback.db'))).toBe(false);
  });
});
