/**
 * Start-up without the database: `comeback worker` and `comeback serve` are started while the
 * PostgreSQL cluster of this test's own is stopped. Both wait with capped exponential backoff,
 * log each retry, answer /healthz with 503 "starting" meanwhile, and come up (migrations first)
 * once the cluster is started: the worker sends, the server records clicks. A configuration
 * mistake (an unknown database) fails at once instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { runWorker } from '../../src/worker/run.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
import { SmtpSink } from '../delivery/sink.js';
import { ensureBuilt, exited, ROOT, seedDue, sequencesDir, spawnWorker, waitFor, writeConfig } from './fixture.js';

let pgc: OwnPostgres;
let sink: SmtpSink;
let engine: Engine | undefined;
const children: ChildProcess[] = [];
const stderr = (c: ChildProcess) => (c as ChildProcess & { stderrText: () => string }).stderrText();
const retries = (c: ChildProcess) =>
  stderr(c).match(/database unreachable at 127\.0\.0\.1:\d+, retrying in \d+s/g) ?? [];

beforeAll(async () => {
  await ensureBuilt();
  pgc = await startOwnPostgres();
  sink = new SmtpSink();
  await sink.start();
}, 180_000);

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await engine?.close();
  engine = undefined;
});

afterAll(async () => {
  await sink?.stop();
  pgc?.stop();
});

/** Starts the cluster unless it runs. */
const ensureUp = () => {
  try {
    pgc.up();
  } catch {
    // already running
  }
};

it('a worker started before PostgreSQL waits for it, answers 503 "starting", then migrates and sends', async () => {
  const database = `${pgc.url}?schema=startw`;
  const config = {
    database,
    sequencesDir: sequencesDir(),
    templatesDir: join(ROOT, 'templates'),
    transport: { type: 'smtp', url: sink.url, pool: 2 },
    worker: { pollIntervalMs: 200 },
  };
  pgc.down();
  const worker = spawnWorker(writeConfig(config), ['--health-port', '127.0.0.1:0'], { COMEBACK_LOG: 'info' });
  children.push(worker);
  await waitFor(() => retries(worker).length >= 2, 60_000, 'two logged retries');
  const healthUrl = /health at (http:\/\/\S+)/.exec(stderr(worker))![1]!;
  const starting = await fetch(healthUrl);
  expect(starting.status).toBe(503);
  expect(await starting.json()).toMatchObject({
    status: 'starting',
    down: [{ dependency: 'database', since: expect.any(String), reason: expect.stringMatching(/ECONNREFUSED/) }],
  });
  expect(retries(worker)[0]).toMatch(/retrying in 1s$/);
  expect(retries(worker)[1]).toMatch(/retrying in 2s$/);
  expect(worker.exitCode).toBeNull();

  pgc.up();
  await waitFor(() => stderr(worker).includes('worker started'), 60_000, 'the worker to start');
  expect(stderr(worker)).toMatch(/database reachable at 127\.0\.0\.1:\d+ after \d+ attempts; starting/);
  expect((await fetch(healthUrl)).status).toBe(200);
  // The worker migrated the empty schema; what is enrolled now is sent by it.
  engine = await createEngine({ ...config, transport: { type: 'memory' } } as never, {
    logger: pino({ level: 'silent' }),
  });
  const N = 20;
  await seedDue(engine, N, (i) => `late${i}@example.com`);
  await waitFor(() => sink.accepted.length >= N, 60_000, 'every mail sent', 50);
  expect(sink.duplicates()).toEqual([]);
  console.log(`worker started before PostgreSQL: ${retries(worker).length} retries logged, then ${N} mails sent`);
  worker.kill('SIGTERM');
  expect(await exited(worker)).toBe(0);
}, 180_000);

it('comeback serve started before PostgreSQL answers 503 "starting" on its port, then serves clicks there', async () => {
  ensureUp();
  const base = {
    database: `${pgc.url}?schema=starts`,
    sequencesDir: sequencesDir(),
    templatesDir: join(ROOT, 'templates'),
  };
  engine = await createEngine({ ...base, transport: { type: 'memory' } }, { logger: pino({ level: 'silent' }) });
  await seedDue(engine, 3, (i) => `click${i}@example.com`);
  await runWorker(engine, { untilIdle: true });
  const messages = await engine.ctx.k.selectFrom('messages').select('id').orderBy('id').execute();
  expect(messages).toHaveLength(3);
  pgc.down();

  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/comeback.js'), '--config', writeConfig(base), 'serve', '--dev', '--port', '0'],
    { cwd: ROOT, env: { ...process.env, COMEBACK_LOG: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  let err = '';
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  child.stdout!.resume();
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => err;
  await waitFor(() => retries(child).length >= 1, 60_000, 'a logged retry');
  const url = /starting; (http:\/\/\S+)\/healthz answers 503/.exec(err)![1]!;
  const starting = await fetch(`${url}/healthz`);
  expect(starting.status).toBe(503);
  expect(await starting.json()).toMatchObject({ status: 'starting', down: [{ dependency: 'database' }] });
  const early = await fetch(`${url}${new URL(engine.ctx.urls.click(messages[0]!.id, 0)).pathname}`, {
    redirect: 'manual',
  });
  expect([early.status, early.headers.get('retry-after')]).toEqual([503, '5']);

  pgc.up();
  // The server takes over the port its placeholder held.
  await waitFor(() => err.includes(`listening on ${url}`), 60_000, 'comeback serve to listen on the same address');
  expect((await fetch(`${url}/healthz`)).status).toBe(200);
  for (const m of messages) {
    const res = await fetch(`${url}${new URL(engine.ctx.urls.click(m.id, 0)).pathname}`, { redirect: 'manual' });
    expect(res.status).toBe(307);
  }
  const clicks = async () =>
    Number(
      (
        await engine!.ctx.k
          .selectFrom('events')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('type', '=', 'click')
          .executeTakeFirstOrThrow()
      ).n,
    );
  await waitFor(async () => (await clicks().catch(() => 0)) === 3, 30_000, 'the clicks stored');
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);
}, 180_000);

it('a mistake in the configuration is not waited for: an unknown database fails at once', async () => {
  ensureUp();
  const config = {
    database: pgc.url.replace(/\/postgres$/, '/no_such_shop'),
    sequencesDir: sequencesDir(),
    templatesDir: join(ROOT, 'templates'),
    transport: { type: 'smtp', url: sink.url },
  };
  const worker = spawnWorker(writeConfig(config), ['--startup-wait', '600']);
  children.push(worker);
  expect(await exited(worker)).toBe(1);
  expect(stderr(worker)).toMatch(
    /cannot connect to the database at 127\.0\.0\.1:\d+: database "no_such_shop" does not exist/,
  );
  expect(retries(worker)).toEqual([]);
}, 60_000);
