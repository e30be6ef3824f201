import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { appendConsents } from '../../src/consent/ledger.js';
import type { Engine } from '../../src/engine/engine.js';
import { enrollCustomers, type EnrollResult } from '../../src/engine/enroll.js';
import { scheduleBatch } from '../../src/engine/scheduler.js';

/** The repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');

/** A one-step, trigger-started sequence: every enrolment becomes exactly one due message. */
export const ONE_STEP_SEQUENCE = `id: blast
name: One mail per enrolment
version: 1
audience:
  trigger: test_started
consent: [double_opt_in]
steps:
  - id: hello
    template: winback/miss-you
    subject: "Hello {{first_name}}"
`;

/** A fresh folder with the one-step sequence; returns the folder. */
export function sequencesDir(yaml = ONE_STEP_SEQUENCE): string {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-seq-'));
  writeFileSync(join(dir, 'blast.yaml'), yaml);
  return dir;
}

/**
 * Records `n` customers with a double opt-in and enrols them all into `blast`: `n` messages come
 * due on the next pass. Bulk writes, so 5,000 take a few seconds.
 */
export async function seedDue(
  engine: Engine,
  n: number,
  emailOf: (i: number) => string = (i) => `c${i}@example.com`,
): Promise<number[]> {
  const input = Array.from({ length: n }, (_, i) => ({
    externalId: `c${i}`,
    email: emailOf(i),
    firstName: `Kim${i}`,
    locale: 'en',
    acquiredVia: 'newsletter',
  }));
  const ids: number[] = [];
  for (let i = 0; i < n; i += 1000) {
    const map = await engine.customers.upsert(input.slice(i, i + 1000));
    ids.push(...map.values());
  }
  const now = engine.ctx.clock.now();
  for (let i = 0; i < ids.length; i += 1000) {
    await appendConsents(
      engine.ctx.k,
      ids.slice(i, i + 1000).map((customerId) => ({
        customerId,
        action: 'grant' as const,
        basis: 'double_opt_in' as const,
        source: 'test',
        evidence: { confirmed: true },
        recordedAt: now,
      })),
    );
  }
  const seq = engine.ctx.sequences.get('blast');
  const result: EnrollResult = { sequenceId: 'blast', considered: 0, enrolled: 0, holdout: 0, skipped: {} };
  // One call for all of them: enrollCustomers slices large lists itself (5,000 rows of 11 columns
  // would exceed SQLite's parameter limit in one statement).
  await enrollCustomers(engine.ctx, seq, ids, result);
  if (result.enrolled !== n) throw new Error(`expected ${n} enrolments, got ${JSON.stringify(result)}`);
  return ids;
}

async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/**
 * Makes sure `dist/` holds a build of the current sources (the worker runs as a real process from
 * it): compiles with tsc when a source file is newer than the CLI entry point.
 */
export async function ensureBuilt(): Promise<void> {
  const entry = join(ROOT, 'dist/src/cli/main.js');
  const built = existsSync(entry) ? statSync(entry).mtimeMs : 0;
  const newest = Math.max(await newestMtime(join(ROOT, 'src')), await newestMtime(join(ROOT, 'migrations')));
  if (built >= newest) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', ROOT], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch {
    // Type errors elsewhere still emit JavaScript; the run below fails clearly if the build is unusable.
  }
  if (!existsSync(entry)) throw new Error('the build (npx tsc -p .) did not produce dist/src/cli/main.js');
}

/**
 * `n` reserved messages, due now and not sent: customers seeded, enrolments made due and one
 * scheduler batch run, without a send pass. Returns the message ids in order.
 */
export async function reservedMessages(engine: Engine, n: number): Promise<number[]> {
  await seedDue(engine, n);
  await engine.ctx.k.updateTable('enrollments').set({ next_due_at: 0 }).execute();
  await scheduleBatch(engine.ctx);
  return (await engine.ctx.k.selectFrom('messages').select('id').orderBy('id').execute()).map((r) => r.id);
}

/** Writes a config file for a worker process; returns its path. */
export function writeConfig(config: Record<string, unknown>): string {
  const dir = mkdtempSync(join(tmpdir(), 'comeback-cfg-'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'comeback.config.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

/**
 * Starts `comeback worker` as a child process with the given config and extra arguments; `--dev`,
 * since the tests send over SMTP to a local sink with the demo sender and secret.
 */
export function spawnWorker(configFile: string, args: string[] = [], env: Record<string, string> = {}): ChildProcess {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/comeback.js'), '--config', configFile, 'worker', '--dev', ...args],
    {
      cwd: ROOT,
      env: { ...process.env, COMEBACK_LOG: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 20_000) err = err.slice(-10_000);
  });
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => err;
  return child;
}

/** Resolves with the exit code (or signal) of a child process. */
export function exited(child: ChildProcess): Promise<number | string> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

/** Waits until `check` returns true, polling every `everyMs`; fails after `timeoutMs`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 50,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Message counts by status. */
export async function statusCounts(engine: Engine): Promise<Record<string, number>> {
  const rows = await engine.ctx.k
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('status')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
