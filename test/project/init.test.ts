/**
 * `comeback init`: a new project that validates and runs as it is, with its own secrets, and a
 * second run that changes nothing a marketer already edited.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { liveSendingProblems } from '../../src/config/live-sending.js';
import { parseConfig } from '../../src/config/index.js';
import { DEVELOPMENT_SECRET } from '../../src/config/schema.js';
import { scaffoldProject } from '../../src/project/scaffold.js';
import { runCliInProcess } from '../helpers/cli.js';
import { ensureBuilt, ROOT } from '../worker/fixture.js';

const BIN = join(ROOT, 'bin/comeback.js');
const fresh = () => join(mkdtempSync(join(tmpdir(), 'comeback-init-')), 'shop');
/** Runs the built CLI in `cwd`; what it printed on both streams, after checking it exited 0. */
function comeback(cwd: string, ...args: string[]): string {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, COMEBACK_LOG: 'silent' },
  });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout + r.stderr;
}

beforeAll(ensureBuilt, 120_000);

describe('comeback init', () => {
  it('creates a project that validates and runs with the outbox as it is', async () => {
    const dir = fresh();
    const { out } = await runCliInProcess(['init', dir]);
    expect(out).toContain('comeback.config.yaml');
    expect(out).toMatch(/sequences\/ \(5 files\)/);
    expect(out).toContain('comeback validate');
    expect(out).not.toContain('npx');
    expect(readdirSync(join(dir, 'sequences')).sort()).toEqual(readdirSync(join(ROOT, 'sequences')).sort());
    expect(readFileSync(join(dir, 'templates/layouts/default.mjml'), 'utf8')).toBe(
      readFileSync(join(ROOT, 'templates/layouts/default.mjml'), 'utf8'),
    );
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('outbox/');
    // Editors with yaml-language-server check sequence files while typing.
    expect(JSON.parse(readFileSync(join(dir, '.vscode/settings.json'), 'utf8'))).toEqual({
      'yaml.schemas': { './sequence.schema.json': 'sequences/*.yaml' },
    });
    expect(JSON.parse(readFileSync(join(dir, 'sequence.schema.json'), 'utf8'))).toMatchObject({
      $schema: expect.stringContaining('2020-12'),
    });
    // The config holds a secret: only its owner may read it.
    expect(statSync(join(dir, 'comeback.config.yaml')).mode & 0o077).toBe(0);

    const config = parseConfig(parseYaml(readFileSync(join(dir, 'comeback.config.yaml'), 'utf8')));
    expect(config.secret).not.toBe(DEVELOPMENT_SECRET);
    expect(String(config.secret).length).toBeGreaterThanOrEqual(40);
    expect(config.dashboard.token?.length).toBeGreaterThanOrEqual(40);
    expect(config.transport.type).toBe('outbox');
    // Switching to SMTP without setting the sender and publicUrl is still refused.
    expect(
      liveSendingProblems({
        ...config,
        transport: { type: 'smtp', url: 'smtp://x', pool: 5, timeoutMs: 1 },
      } as never).map((p) => p.split(':')[0]),
    ).toEqual(['sender.from / sender.name', 'sender.postalAddress', 'publicUrl']);

    expect(comeback(dir, 'validate')).toContain('5 sequence files valid');
    expect(comeback(dir, 'worker', '--once', '--no-status')).toContain('sent 0, retrying 0, failed 0, uncertain 0');
    expect(existsSync(join(dir, 'comeback.db'))).toBe(true);
  }, 60_000);

  it('each project gets its own secrets', () => {
    const secrets = [fresh(), fresh()].map((dir) => {
      scaffoldProject(dir);
      return (parseYaml(readFileSync(join(dir, 'comeback.config.yaml'), 'utf8')) as { secret: string }).secret;
    });
    expect(secrets[0]).not.toBe(secrets[1]);
  });

  it('a second run keeps every existing file as it is and says so', async () => {
    const dir = fresh();
    scaffoldProject(dir);
    const edited = 'id: winback-lapsed\n# edited by the marketer\n';
    writeFileSync(join(dir, 'sequences/winback-lapsed.yaml'), edited);
    const config = readFileSync(join(dir, 'comeback.config.yaml'), 'utf8');
    const again = scaffoldProject(dir);
    expect(again.created).toEqual([]);
    expect(again.kept).toContain('sequences/winback-lapsed.yaml');
    expect(again.kept).toContain('comeback.config.yaml');
    expect(readFileSync(join(dir, 'sequences/winback-lapsed.yaml'), 'utf8')).toBe(edited);
    expect(readFileSync(join(dir, 'comeback.config.yaml'), 'utf8')).toBe(config);
    const { out } = await runCliInProcess(['init', dir]);
    expect(out).toMatch(/kept \d+ existing file\(s\), unchanged:\n {2}comeback\.config\.yaml/);
  });

  it('a JSON config already there is kept and no YAML one is added beside it', () => {
    const dir = fresh();
    mkdirSync(dir);
    writeFileSync(join(dir, 'comeback.config.json'), '{}');
    const r = scaffoldProject(dir);
    expect(r.kept).toContain('comeback.config.json');
    expect(existsSync(join(dir, 'comeback.config.yaml'))).toBe(false);
  });

  it('refuses a path that is a file, and names a folder it cannot write to', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'comeback-init-')), 'notes.txt');
    writeFileSync(file, 'x');
    expect(() => scaffoldProject(file)).toThrow(/notes\.txt is a file, not a folder/);
    expect(() => scaffoldProject(join(file, 'shop'))).toThrow(
      /^cannot set up the project in .*notes\.txt\/shop: ENOTDIR/,
    );
  });
});
