/**
 * Database outages are weather: on a PostgreSQL cluster of this test's own, its backends are
 * terminated (pg_terminate_backend, as an idle-connection reaper or a failover does) and the
 * server is stopped and started again, (1) during a BullMQ run with two `comeback worker`
 * processes and (2) during click load on `comeback serve`. Both keep running, log the outage once
 * when it begins and once when it ends, and lose and duplicate nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { runWorker } from '../../src/worker/run.js';
import { REDIS_URL } from '../helpers/backends.js';
import { startOwnPostgres, type OwnPostgres } from '../helpers/own-postgres.js';
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
} from './fixture.js';

let pgc: OwnPostgres;
let sink: SmtpSink;
let engine: Engine | undefined;
const children: ChildProcess[] = [];
const stderr = (c: ChildProcess) => (c as ChildProcess & { stderrText: () => string }).stderrText();
/** Log lines (JSON) of a process whose message matches. */
const lines = (c: ChildProcess, re: RegExp) =>
  stderr(c)
    .split('\n')
    .filter((l) => re.test(l));

beforeAll(async () => {
  await ensureBuilt();
  pgc = await startOwnPostgres();
  sink = new SmtpSink();
  await sink.start();
}, 180_000);

beforeEach(() => sink.reset());

afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await engine?.close();
  engine = undefined;
});

afterAll(async () => {
  await sink?.stop();
  pgc?.stop();
});

/** Reads that fail while the database is down count as "not yet". */
const whenUp = <T>(read: () => Promise<T>, fallback: T) => read().catch(() => fallback);

it('two BullMQ workers keep running through terminated backends and a PostgreSQL restart: every mail once', async () => {
  const database = `${pgc.url}?schema=workers`;
  const queueName = `cbtest-pgout-${process.pid}-${Date.now().toString(36)}`;
  const config = {
    database,
    sequencesDir: sequencesDir(),
    templatesDir: join(ROOT, 'templates'),
    redisUrl: REDIS_URL,
    transport: { type: 'smtp', url: sink.url, pool: 4 },
    // Jobs cut short by the outage are handed over again after seconds, not the production minutes.
    worker: {
      pollIntervalMs: 200,
      concurrency: 8,
      batchSize: 100,
      queueName,
      redispatchAfterMs: 3000,
      claimTimeoutMs: 5000,
      retryBaseMs: 500,
      maxInDoubt: 4,
    },
  };
  engine = await createEngine({ ...config, redisUrl: undefined, transport: { type: 'memory' } } as never, {
    logger: pino({ level: 'silent' }),
  });
  const configFile = writeConfig(config);
  // The first worker answers /healthz (--health-port): 503 naming the database while it is down.
  const workers = [
    spawnWorker(configFile, ['--health-port', '127.0.0.1:0'], { COMEBACK_LOG: 'info' }),
    spawnWorker(configFile, [], { COMEBACK_LOG: 'info' }),
  ];
  children.push(...workers);
  await waitFor(() => workers.every((w) => stderr(w).includes('worker started')), 60_000, 'both workers to start');
  const healthUrl = /health at (http:\/\/\S+)/.exec(stderr(workers[0]!))![1]!;
  const health: number[] = [];
  let healthBody = '';
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const res = await fetch(healthUrl).catch(() => null);
      const text = (await res?.text()) ?? '';
      if (res?.status === 503 && !healthBody) healthBody = text;
      if (health.at(-1) !== (res?.status ?? 0)) health.push(res?.status ?? 0);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const N = 600;
  await seedDue(engine, N, (i) => `out${i}@example.com`);
  const sent = () => sink.accepted.length;

  await waitFor(() => sent() >= N / 4, 120_000, 'a quarter of the mails', 20);
  const terminated = await pgc.terminateBackends();
  await waitFor(() => sent() >= N / 2, 120_000, 'half of the mails after the backends were terminated', 20);
  pgc.down();
  const atStop = sent();
  // Both workers notice: each logs the outage once.
  await waitFor(
    () => workers.every((w) => lines(w, /"database unavailable/).length > 0),
    60_000,
    'both workers to log the outage',
  );
  await waitFor(() => health.at(-1) === 503, 30_000, "the worker's /healthz to answer 503");
  pgc.up();
  await waitFor(
    async () => (await whenUp(() => statusCounts(engine!), {})).sent === N,
    180_000,
    'every mail sent after the restart',
    250,
  );
  await waitFor(() => health.at(-1) === 200, 30_000, "the worker's /healthz to answer 200 again");
  probing = false;
  await prober;
  expect(health[0]).toBe(200);
  expect(JSON.parse(healthBody)).toMatchObject({
    status: 'unavailable',
    down: [{ dependency: 'database', since: expect.any(String), reason: expect.any(String) }],
  });

  expect(workers.map((w) => w.exitCode)).toEqual([null, null]); // both alive
  for (const w of workers) {
    const down = lines(w, /"database unavailable/).length;
    const back = lines(w, /"database available again/).length;
    expect(down).toBeGreaterThanOrEqual(1);
    expect(back).toBe(down); // every outage logged when it began and when it ended
    expect(down).toBeLessThanOrEqual(4); // once per outage, not once per query or pass
    expect(stderr(w)).not.toMatch(/Unhandled 'error'|MaxListenersExceededWarning/);
  }
  console.log(
    `PostgreSQL outage under two workers: ${terminated} backends terminated at ${N / 4}+ sent, server stopped at ${atStop}; outages logged ${workers.map((w) => lines(w, /"database unavailable/).length).join(' + ')}, worker /healthz ${health.join(' → ')}`,
  );
  expect(atStop).toBeLessThan(N);
  expect(sink.duplicates()).toEqual([]);
  expect(sent()).toBe(N);
  expect(await statusCounts(engine)).toEqual({ sent: N });
  for (const w of workers) w.kill('SIGTERM');
  expect(await Promise.all(workers.map(exited))).toEqual([0, 0]);
}, 400_000);

/** Starts `comeback serve` on a free port; resolves with the process and its URL. */
async function startServe(configFile: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin/comeback.js'), '--config', configFile, 'serve', '--dev', '--port', '0'],
    {
      cwd: ROOT,
      env: { ...process.env, COMEBACK_LOG: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.on('data', (d: Buffer) => void (err += d.toString()));
  child.stdout!.resume();
  (child as ChildProcess & { stderrText: () => string }).stderrText = () => err;
  children.push(child);
  let url = '';
  await waitFor(
    () => Boolean((url = /listening on (http:\/\/\S+)/.exec(err)?.[1] ?? '')),
    60_000,
    'comeback serve to listen',
  );
  return { child, url };
}

it('comeback serve keeps answering through terminated backends and a PostgreSQL restart: /healthz 503 then 200, no click lost', async () => {
  const database = `${pgc.url}?schema=serve`;
  const base = { database, sequencesDir: sequencesDir(), templatesDir: join(ROOT, 'templates') };
  engine = await createEngine({ ...base, transport: { type: 'memory' } }, { logger: pino({ level: 'silent' }) });
  const N = 200;
  const ids = await seedDue(engine, N, (i) => `click${i}@example.com`);
  await runWorker(engine, { untilIdle: true });
  const messages = await engine.ctx.k
    .selectFrom('messages')
    .select('id')
    .where('status', '=', 'sent')
    .orderBy('id')
    .execute();
  expect(messages).toHaveLength(ids.length);
  const { child: serve, url } = await startServe(writeConfig({ ...base, server: { eventFlushMs: 20 } }));
  const clickUrl = (id: number) => `${url}${new URL(engine!.ctx.urls.click(id, 0)).pathname}`;

  // Click load: each click is repeated until the server answers its redirect (what a person does
  // on an error page); a redirect means the click was accepted and must be stored once.
  const accepted = new Map<number, number>();
  let total = 0;
  let loading = true;
  const clicker = async (offset: number) => {
    for (let i = offset; loading; i += 4) {
      const id = messages[i % messages.length]!.id;
      const res = await fetch(clickUrl(id), { redirect: 'manual' }).catch(() => null);
      if (res?.status === 307) {
        accepted.set(id, (accepted.get(id) ?? 0) + 1);
        total++;
      } else {
        i -= 4; // the same click again
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  };
  const health: number[] = [];
  let healthBody = '';
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const res = await fetch(`${url}/healthz`).catch(() => null);
      const status = res?.status ?? 0;
      if (status === 503 && !healthBody) healthBody = await res!.text();
      else await res?.arrayBuffer();
      if (health.at(-1) !== status) health.push(status);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  const load = Promise.all([0, 1, 2, 3].map(clicker));

  await waitFor(() => total >= 300, 60_000, '300 clicks');
  await pgc.terminateBackends();
  const afterTerminate = total;
  await waitFor(() => total >= afterTerminate + 300, 60_000, '300 clicks after the backends were terminated');
  pgc.down();
  await waitFor(() => health.at(-1) === 503, 30_000, '/healthz to answer 503');
  const atStop = total;
  await waitFor(() => total >= atStop + 100, 60_000, 'clicks accepted while the database is down');
  pgc.up();
  await waitFor(() => health.at(-1) === 200, 60_000, '/healthz to answer 200 again');
  const atBack = total;
  await waitFor(() => total >= atBack + 300, 60_000, '300 clicks after the restart');
  loading = false;
  await load;
  probing = false;
  await prober;

  const stored = async () => {
    const rows = await engine!.ctx.k
      .selectFrom('events')
      .select(['message_id', (eb) => eb.fn.countAll<number>().as('n')])
      .where('type', '=', 'click')
      .groupBy('message_id')
      .execute();
    return new Map(rows.map((r) => [r.message_id, Number(r.n)]));
  };
  // Written by the running server (no shutdown flush needed): every accepted click, once.
  await waitFor(
    async () => [...(await whenUp(stored, new Map<number, number>())).values()].reduce((a, b) => a + b, 0) >= total,
    60_000,
    'every accepted click stored',
  );
  expect(serve.exitCode).toBeNull();
  expect(Object.fromEntries(await stored())).toEqual(Object.fromEntries(accepted));
  expect(health[0]).toBe(200);
  expect(health).toContain(503);
  expect(health.at(-1)).toBe(200);
  expect(JSON.parse(healthBody)).toMatchObject({
    status: 'unavailable',
    dependency: 'database',
    error: expect.any(String),
    since: expect.any(String),
  });
  const down = lines(serve, /"database unavailable/).length;
  expect(down).toBeGreaterThanOrEqual(1);
  expect(lines(serve, /"database available again/).length).toBe(down);
  expect(down).toBeLessThanOrEqual(4);
  expect(stderr(serve)).not.toMatch(/Unhandled 'error'|writing tracking events failed/);
  console.log(
    `PostgreSQL outage under click load: ${total} clicks accepted (${atBack - atStop} while the server was stopped), /healthz ${health.join(' → ')}, outages logged ${down}`,
  );
  serve.kill('SIGTERM');
  expect(await exited(serve)).toBe(0);
}, 300_000);
