import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../src/demo/run.js';
import { createEngine } from '../../src/index.js';
import { hashEmail } from '../../src/util/email.js';

const ROOT = resolve(import.meta.dirname, '../..');

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/** `comeback serve` runs as a real process from dist/: build it when the sources are newer. */
async function ensureBuilt(): Promise<void> {
  const entry = join(ROOT, 'dist/src/cli/main.js');
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  if (built >= Math.max(await newest(join(ROOT, 'src')), await newest(join(ROOT, 'migrations')))) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch {
    // Type errors in unrelated work in progress still emit JavaScript; a broken build fails below.
  }
  if (!existsSync(entry)) throw new Error('npx tsc -p . did not produce dist/src/cli/main.js');
}

/** The header block of an .eml file, continuation lines unfolded, names lower-cased. */
function headers(eml: string): Map<string, string> {
  const block = eml.slice(0, eml.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' ');
  const map = new Map<string, string>();
  for (const line of block.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) map.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
  }
  return map;
}

let dir: string;
let serve: ChildProcess | undefined;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'comeback-demo-e2e-'));
  await ensureBuilt();
  // The demo's own code (as `comeback demo` runs it), into a folder of this test.
  await runDemo({ customers: 150, days: 10, out: join(dir, 'outbox'), db: join(dir, 'demo.db'), seed: 42 });
}, 180_000);

afterAll(async () => {
  if (serve && serve.exitCode === null) {
    const done = new Promise((r) => serve!.once('exit', r));
    serve.kill('SIGTERM');
    await done;
  }
});

/** Starts `comeback serve --dev` on a free port over the demo database; resolves with its base URL. */
function startServe(): Promise<string> {
  serve = spawn(
    process.execPath,
    [
      join(ROOT, 'bin/comeback.js'),
      '--db',
      join(dir, 'demo.db'),
      'serve',
      '--dev',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
    ],
    {
      cwd: ROOT,
      env: { ...process.env, COMEBACK_LOG: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`comeback serve did not start:\n${err}`)), 30_000);
    serve!.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/[^\s]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]!);
      }
    });
    serve!.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`comeback serve exited with ${code}:\n${err}`));
    });
  });
}

describe('the demo against comeback serve', () => {
  it('every .eml of the demo carries List-Unsubscribe (HTTPS/HTTP URL and mailto) and List-Unsubscribe-Post', () => {
    const files = readdirSync(join(dir, 'outbox')).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const h = headers(readFileSync(join(dir, 'outbox', f), 'utf8'));
      expect(h.get('list-unsubscribe'), f).toMatch(/^<https?:\/\/[^>]+\/u\/[^>]+>, <mailto:[^>]+>$/);
      expect(h.get('list-unsubscribe-post'), f).toBe('List-Unsubscribe=One-Click');
    }
  });

  it("POSTing List-Unsubscribe=One-Click to the header's URL unsubscribes that customer", async () => {
    // A recipient of the demo who is still subscribed.
    const engine = await createEngine({ database: join(dir, 'demo.db') });
    let target: { file: string; url: string; customerId: number; email: string } | undefined;
    try {
      for (const f of readdirSync(join(dir, 'outbox'))
        .filter((x) => x.endsWith('.eml'))
        .sort()) {
        const h = headers(readFileSync(join(dir, 'outbox', f), 'utf8'));
        const m = await engine.ctx.k
          .selectFrom('messages')
          .innerJoin('customers', 'customers.id', 'messages.customer_id')
          .select(['customers.id', 'customers.email', 'customers.email_hash'])
          .where('messages.id', '=', Number(h.get('x-comeback-message')))
          .executeTakeFirstOrThrow();
        const suppressed = await engine.ctx.k
          .selectFrom('suppressions')
          .select('id')
          .where('email_hash', '=', m.email_hash!)
          .executeTakeFirst();
        if (suppressed) continue;
        target = {
          file: f,
          url: /^<([^>]+)>/.exec(h.get('list-unsubscribe')!)![1]!,
          customerId: m.id,
          email: m.email!,
        };
        break;
      }
      expect(target).toBeDefined();
      expect((await engine.consents.state(target!.customerId)).objected).toBe(false);
    } finally {
      await engine.close();
    }

    const base = await startServe();
    const u = new URL(target!.url); // the demo's publicUrl; the server runs on a free port here
    const before = await fetch(`${base}${u.pathname}`, { redirect: 'manual' });
    expect(before.status).toBe(200); // the page with a confirm button, nothing changed
    const res = await fetch(`${base}${u.pathname}`, {
      method: 'POST',
      body: 'List-Unsubscribe=One-Click',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      redirect: 'manual',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('location')).toBeNull();
    const done = new Promise((r) => serve!.once('exit', r));
    serve!.kill('SIGTERM');
    await done;

    const after = await createEngine({ database: join(dir, 'demo.db') });
    try {
      const suppressions = await after.ctx.k
        .selectFrom('suppressions')
        .selectAll()
        .where('email_hash', '=', hashEmail(target!.email))
        .execute();
      expect(suppressions).toMatchObject([{ scope: 'all', reason: 'unsubscribe' }]);
      expect((await after.consents.state(target!.customerId)).objected).toBe(true);
      expect((await after.consents.history(target!.customerId)).at(-1)).toMatchObject({
        action: 'withdraw',
        source: 'unsubscribe',
        evidence: { via: 'one_click' },
      });
      expect((await after.privacy.audit(target!.email)).customers[0]!.now.every((n) => !n.allowed)).toBe(true);
    } finally {
      await after.close();
    }
  });
});
