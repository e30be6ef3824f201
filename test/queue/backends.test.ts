/**
 * The JobBackend conformance suite, run against every backend: the embedded in-process executor
 * and BullMQ on Redis (a unique queue per test). First the backend alone, then the engine on
 * PostgreSQL sending through it.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { BullmqBackend } from '../../src/queue/bullmq.js';
import { EmbeddedBackend } from '../../src/queue/embedded.js';
import type { JobBackend } from '../../src/queue/types.js';
import { postgresUrl, REDIS_URL } from '../helpers/backends.js';
import { seedDue, sequencesDir, statusCounts, waitFor } from '../worker/fixture.js';

const silent = pino({ level: 'silent' });
let counter = 0;

/** Fails clearly when Redis is not reachable (a missing service is a failure, never a skip). */
async function requireRedis(): Promise<void> {
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
  } catch (err) {
    throw new Error(
      `Redis is required for this test but is not reachable at ${REDIS_URL} (${(err as Error).message}). Start it or set COMEBACK_TEST_REDIS.`,
    );
  } finally {
    r.disconnect();
  }
}

const backends = [
  { name: 'embedded', make: async (concurrency: number): Promise<JobBackend> => new EmbeddedBackend(concurrency) },
  {
    name: 'bullmq',
    make: async (concurrency: number): Promise<JobBackend> => {
      await requireRedis();
      return new BullmqBackend({
        url: REDIS_URL,
        queueName: `cbtest-${process.pid}-${Date.now().toString(36)}-${counter++}`,
        concurrency,
        log: silent,
      });
    },
  },
];

describe.each(backends)('JobBackend conformance: $name', ({ make }) => {
  let backend: JobBackend | undefined;
  let engine: Engine | undefined;
  afterEach(async () => {
    if (engine) await engine.close();
    else await backend?.stop();
    if (backend instanceof BullmqBackend) {
      const cleanup = new BullmqBackend({
        ...(backend as unknown as { options: ConstructorParameters<typeof BullmqBackend>[0] }).options,
      });
      await cleanup.obliterate();
      await cleanup.stop();
    }
    engine = undefined;
    backend = undefined;
  });

  it('hands every dispatched id to the handler, at most `concurrency` at once', async () => {
    backend = await make(4);
    const seen = new Map<number, number>();
    let running = 0;
    let peak = 0;
    await backend.start(async (id) => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      seen.set(id, (seen.get(id) ?? 0) + 1);
      running--;
    });
    const ids = Array.from({ length: 60 }, (_, i) => i + 1);
    await backend.dispatch(ids.slice(0, 30));
    await backend.dispatch(ids.slice(30));
    await waitFor(() => seen.size === 60, 20_000, 'all jobs handled');
    expect([...seen.keys()].sort((a, b) => a - b)).toEqual(ids);
    expect(peak).toBeLessThanOrEqual(4);
    expect(peak).toBeGreaterThan(1);
  });

  it('stop() waits for jobs in flight and starts no new ones', async () => {
    backend = await make(2);
    const started: number[] = [];
    const finished: number[] = [];
    await backend.start(async (id) => {
      started.push(id);
      await new Promise((r) => setTimeout(r, 150));
      finished.push(id);
    });
    const dispatching = backend.dispatch(Array.from({ length: 20 }, (_, i) => i + 1));
    if (!backend.runsInline) await dispatching;
    await waitFor(() => started.length >= 1, 10_000, 'a job to start');
    await backend.stop();
    await dispatching;
    const startedAtStop = started.length;
    expect(finished.length).toBe(startedAtStop); // everything that started has finished
    expect(startedAtStop).toBeLessThan(20);
    await new Promise((r) => setTimeout(r, 300));
    expect(started.length).toBe(startedAtStop);
  });

  it('sends every due message once through the engine on PostgreSQL, with a job dispatched twice', async () => {
    backend = await make(8);
    engine = await createEngine(
      {
        database: await postgresUrl(),
        sequencesDir: sequencesDir(),
        worker: { pollIntervalMs: 50, redispatchAfterMs: 60_000 },
      },
      { transport: new MemoryTransport(), backend, logger: silent },
    );
    await seedDue(engine, 200);
    const first = await engine.runDue();
    expect(first.reserved).toBe(200);
    // The same ids again, as a second worker or a lost-and-refound queue would hand them over.
    const ids = (await engine.ctx.k.selectFrom('messages').select('id').execute()).map((r) => r.id);
    await backend.dispatch(ids);
    await waitFor(async () => (await statusCounts(engine!)).sent === 200, 30_000, 'all sent');
    await new Promise((r) => setTimeout(r, 200));
    const sent = (engine.ctx.transport as MemoryTransport).sent.map((m) => m.messageId);
    expect(sent.length).toBe(200);
    expect(new Set(sent).size).toBe(200);
    expect(await statusCounts(engine)).toEqual({ sent: 200 });
  });
});

it('BullMQ: a pass fills the queue only up to worker.maxQueued; the backlog follows as the queue drains', async () => {
  await requireRedis();
  const queue = new BullmqBackend({
    url: REDIS_URL,
    queueName: `cbtest-cap-${process.pid}-${Date.now().toString(36)}`,
    concurrency: 4,
    log: silent,
  });
  // Takes jobs but never consumes them, so the queue only grows by what the passes hand over.
  const idle: JobBackend = {
    name: 'bullmq',
    runsInline: false,
    dispatch: (ids) => queue.dispatch(ids),
    start: async () => {},
    pending: () => queue.pending(),
    stop: async () => {},
  };
  const e = await createEngine(
    { database: await postgresUrl(), sequencesDir: sequencesDir(), worker: { batchSize: 20, maxQueued: 50 } },
    { transport: new MemoryTransport(), backend: idle, logger: silent },
  );
  try {
    await seedDue(e, 300);
    const handed = async () =>
      Number(
        (
          await e.ctx.k
            .selectFrom('messages')
            .select((eb) => eb.fn.countAll<number>().as('n'))
            .where('dispatched_at', 'is not', null)
            .executeTakeFirstOrThrow()
        ).n,
      );
    const first = await e.runDue();
    expect(first.reserved).toBe(300);
    expect(first.dispatched).toBe(50);
    expect(await queue.pending()).toBe(50);
    expect(await handed()).toBe(50);
    expect((await e.runDue()).dispatched).toBe(0); // full: nothing more until it drains
    await queue.obliterate(); // the workers took them
    expect((await e.runDue()).dispatched).toBe(50);
    expect(await handed()).toBe(100);
  } finally {
    await e.close();
    await queue.obliterate();
    await queue.stop();
  }
});
