/**
 * `comeback studio` as a process: it starts on a project with a broken sequence file (where else
 * would it be fixed?), prints the address with the token, and answers only with the token.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../worker/fixture.js';
import { exampleProject, raw } from './helpers.js';

describe('comeback studio', () => {
  it('starts on a project with a broken file, prints the address with its token, and needs it', async () => {
    const project = exampleProject({});
    writeFileSync(join(project.dir, 'sequences', 'broken.yaml'), 'id: broken\nsteps: 3\n');
    const child = spawn(
      process.execPath,
      [join(ROOT, 'bin', 'comeback.js'), '--config', project.configFile, 'studio', '--port', '0', '--no-open'],
      { cwd: project.dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /Comeback studio: (http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('exit', (code) => reject(new Error(`exited ${code}: ${err}`)));
      });
      expect(err).toContain('sequences/broken.yaml: ');
      const token = new URL(url).searchParams.get('token')!;
      expect(token.length).toBeGreaterThanOrEqual(43);
      const page = await raw(url, {});
      expect(page.status).toBe(200);
      expect(page.body).toContain('<title>Comeback studio</title>');
      const base = url.replace(/\/\?token=.*$/, '');
      expect((await raw(`${base}/`, {})).status).toBe(403);
      const files = await raw(`${base}/api/files`, { headers: { 'x-studio-token': token } });
      expect(JSON.parse(files.body).files.map((f: { path: string }) => f.path)).toContain('sequences/broken.yaml');
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('close', r));
    }
  }, 120_000);
});
