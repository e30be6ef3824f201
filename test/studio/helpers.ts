import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../worker/fixture.js';

/** A copy of the example project (sequences, templates) with a config file, in a fresh folder. */
export function exampleProject(config: Record<string, unknown>): {
  dir: string;
  configFile: string;
  config: Record<string, unknown>;
} {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-studio-'));
  cpSync(join(ROOT, 'sequences'), join(dir, 'sequences'), { recursive: true });
  cpSync(join(ROOT, 'templates'), join(dir, 'templates'), { recursive: true });
  const full = {
    database: join(dir, 'shop.db'),
    sequencesDir: join(dir, 'sequences'),
    templatesDir: join(dir, 'templates'),
    ...config,
  };
  const configFile = join(dir, 'comeback.config.json');
  writeFileSync(configFile, JSON.stringify(full, null, 2));
  return { dir, configFile, config: full };
}

/** Runs the built CLI in a folder; resolves with stdout, stderr and the exit code. */
export function cli(args: string[], cwd: string): Promise<{ out: string; err: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'comeback.js'), ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ out, err, code }));
  });
}

/** A raw HTTP request with full control of Host and Origin (fetch would not let a test forge Host). */
export function raw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}
