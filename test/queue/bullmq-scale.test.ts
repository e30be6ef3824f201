/**
 * BullMQ at scale: two `comeback worker` processes on PostgreSQL sharing one queue, a Redis
 * restart in the middle of a run (a Redis of its own, started by the test with AOF), and the
 * start-up warning about a Redis that may lose jobs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { runWorker } from '../../src/worker/run.js';
import { postgresUrl, REDIS_URL } from '../helpers/backends.js';
import { SmtpSink } from '../delivery/sink.js';
import {
  ensureBuilt,
  exited,
  ROOT,
  seedDue,
  sequencesDir,
  spawnWorker,
  statusCounts,
  waitFor,
  writeConfig,
} from '../worker/fixture.js';
import { freePort } from '../helpers/net.js';

let sink: SmtpSink;
let engine: Engine | undefined;
const children: ChildProcess[] = [];

beforeAll(async () => {
  await ensureBuilt();
  sink = new SmtpSink();
  await sink.start();
}, 120_000);

beforeEach(() => sink.reset());

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await engine?.close();
  engine = undefined;
});

afterAll(async () => {
  await sink?.stop();
});

async function ping(url: string): Promise<boolean> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {}); // connection refused while the server is down: the caller polls
  try {
    await r.connect();
    return (await r.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

/**
 * A redis-server of this test's own in a temp folder, by default with AOF and `noeviction` (as
 * production should run it); fails clearly when it cannot start.
 */
function startRedis(
  port: number,
  dir: string,
  durability = ['--appendonly', 'yes', '--maxmemory-policy', 'noeviction'],
): ChildProcess {
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, ...durability],
    { stdio: 'ignore' },
  );
  child.on('error', (err) => {
    throw new Error(
      `redis-server could not be started (${err.message}); install Redis (redis-server on PATH) to run this test`,
    );
  });
  return child;
}

it('two BullMQ workers on PostgreSQL send every message once, and both do work', async () => {
  if (!(await ping(REDIS_URL))) throw new Error(`Redis is required for this test but is not reachable at ${REDIS_URL}`);
  const database = await postgresUrl();
  const seqDir = sequencesDir();
  const queueName = `cbtest-two-${process.pid}-${Date.now().toString(36)}`;
  const config = {
    database,
    sequencesDir: seqDir,
    templatesDir: join(ROOT, 'templates'),
    redisUrl: REDIS_URL,
    transport: { type: 'smtp', url: sink.url, pool: 4 },
    worker: { pollIntervalMs: 200, concurrency: 8, batchSize: 200, queueName },
  };
  engine = await createEngine({ ...config, redisUrl: undefined, transport: { type: 'memory' } } as never, {
    logger: pino({ level: 'silent' }),
  });
  const configFile = writeConfig(config);
  const workers = [
    spawnWorker(configFile, [], { COMEBACK_LOG: 'info' }),
    spawnWorker(configFile, [], { COMEBACK_LOG: 'info' }),
  ];
  children.push(...workers);
  const stderr = (c: ChildProcess) => (c as ChildProcess & { stderrText: () => string }).stderrText();
  await waitFor(() => workers.every((w) => stderr(w).includes('worker started')), 60_000, 'both workers to start');
  const before = sink.accepted.length;
  const N = 600;
  await seedDue(engine, N, (i) => `two${i}@example.com`);
  await waitFor(async () => (await statusCounts(engine!)).sent === N, 120_000, 'all messages sent', 250);
  for (const w of workers) w.kill('SIGTERM');
  expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
  // A normal run prints no warning (e.g. MaxListenersExceededWarning from abort listeners piling up).
  for (const w of workers) expect(stderr(w)).not.toMatch(/MaxListenersExceededWarning|\(node:\d+\) Warning/);
  const stoppedLine = (w: ChildProcess) =>
    stderr(w)
      .split('\n')
      .find((l) => l.includes('"worker stopped"'));
  const summaries = workers.map(
    (w) =>
      JSON.parse(stoppedLine(w) ?? '{}') as {
        sent?: number;
        serialPath?: { mails: number; commitMs: number; replyMs: number };
      },
  );
  const sentBy = summaries.map((s) => Number(s.sent ?? NaN));
  // Each worker reports where its serial path (past the point of no return) spent the time.
  for (const s of summaries) {
    expect(s.serialPath).toMatchObject({ mails: s.sent, commitMs: expect.any(Number), replyMs: expect.any(Number) });
    expect(s.serialPath!.commitMs).toBeGreaterThan(0);
  }
  console.log(`two BullMQ workers: ${N} messages, sent by each: ${sentBy.join(' + ')}`);
  expect(sink.duplicates()).toEqual([]);
  expect(sink.accepted.length - before).toBe(N);
  expect(sentBy[0]! + sentBy[1]!).toBe(N);
  expect(Math.min(...sentBy)).toBeGreaterThan(0);
  expect(await statusCounts(engine)).toEqual({ sent: N });
}, 240_000);

it('a Redis restart in the middle of a BullMQ run: the run completes with no duplicate', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'comeback-redis-'));
  const url = `redis://127.0.0.1:${port}`;
  let redis = startRedis(port, dir);
  children.push(redis);
  await waitFor(() => ping(url), 20_000, `redis-server on port ${port}`);
  const N = 800;
  const logged: string[] = [];
  const log = pino(
    { level: 'warn' },
    { write: (l: string) => void logged.push((JSON.parse(l) as { msg: string }).msg) },
  );
  engine = await createEngine(
    {
      database: await postgresUrl(),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      redisUrl: url,
      transport: { type: 'smtp', url: sink.url, pool: 4 },
      worker: {
        pollIntervalMs: 200,
        concurrency: 8,
        batchSize: 300,
        redispatchAfterMs: 3000,
        queueName: `cbtest-restart-${Date.now().toString(36)}`,
      },
    },
    { logger: log },
  );
  await seedDue(engine, N, (i) => `restart${i}@example.com`);
  const before = sink.accepted.length;
  const run = runWorker(engine, { untilIdle: true });
  await waitFor(() => sink.accepted.length - before > N / 4, 60_000, 'a quarter of the run');
  redis.kill('SIGKILL');
  await exited(redis);
  const sentAtKill = sink.accepted.length - before;
  await new Promise((r) => setTimeout(r, 1500));
  redis = startRedis(port, dir);
  children.push(redis);
  await waitFor(() => ping(url), 20_000, 'redis-server to come back');
  const summary = await run;
  const counts = await statusCounts(engine);
  console.log(
    `Redis restart: killed after ${sentAtKill} of ${N}; after the run ${JSON.stringify(counts)}, ${summary.passes} passes`,
  );
  expect(sentAtKill).toBeLessThan(N);
  // The outage is logged once when it begins and once when it ends, not once per failed command.
  const down = logged.filter((m) => m.startsWith('Redis unavailable')).length;
  expect(down).toBeGreaterThanOrEqual(1);
  expect(down).toBeLessThanOrEqual(2);
  expect(logged.filter((m) => m.startsWith('Redis available again')).length).toBe(down);
  expect(sink.duplicates()).toEqual([]);
  expect(counts).toEqual({ sent: N });
  expect(sink.accepted.length - before).toBe(N);
}, 240_000);

it('warns at start when Redis runs without AOF or with an eviction policy, and not when it is durable', async () => {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  const redis = startRedis(port, mkdtempSync(join(tmpdir(), 'comeback-redis-')), [
    '--appendonly',
    'no',
    '--maxmemory-policy',
    'allkeys-lru',
  ]);
  children.push(redis);
  await waitFor(() => ping(url), 20_000, `redis-server on port ${port}`);
  const warningsAtStart = async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    const e = await createEngine(
      {
        database: ':memory:',
        sequencesDir: sequencesDir(),
        redisUrl: url,
        transport: { type: 'memory' },
        worker: { queueName: `cbtest-warn-${Date.now().toString(36)}` },
      },
      { logger: log },
    );
    await e.close();
    return lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
  };
  const risky = await warningsAtStart();
  expect(risky.some((m) => m.includes('without AOF'))).toBe(true);
  expect(risky.some((m) => m.includes('maxmemory-policy is allkeys-lru'))).toBe(true);

  const admin = new Redis(url);
  await admin.config('SET', 'appendonly', 'yes');
  await admin.config('SET', 'maxmemory-policy', 'noeviction');
  await admin.quit();
  const durable = await warningsAtStart();
  expect(durable.filter((m) => /AOF|maxmemory-policy|Redis configuration/.test(m))).toEqual([]);
}, 60_000);
