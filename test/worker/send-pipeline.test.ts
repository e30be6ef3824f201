/**
 * The send pipeline's state in plain sight: the shared rate limiter comes from the job backend's
 * interface (no reaching into its Redis client), the counters are read through `stats()`, and
 * each engine has its own pipeline.
 */
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock, MemoryTransport } from '../../src/testing.js';
import type { RateLimiter } from '../../src/delivery/rate-limit.js';
import { EmbeddedBackend } from '../../src/queue/embedded.js';
import { BullmqBackend } from '../../src/queue/bullmq.js';
import { REDIS_URL, sqliteUrl } from '../helpers/backends.js';
import { seedDue, sequencesDir } from './fixture.js';

const silent = pino({ level: 'silent' });

/** An in-process backend that offers a shared limiter, as BullMQ does through Redis. */
class SharingBackend extends EmbeddedBackend {
  readonly asked: [string, number][] = [];
  takes = 0;
  rateLimiter(name: string, perSecond: number): RateLimiter {
    this.asked.push([name, perSecond]);
    return { take: async () => void this.takes++ };
  }
}

describe('SendPipeline', () => {
  const engines: Engine[] = [];
  afterEach(async () => {
    for (const e of engines.splice(0)) await e.close();
  });

  async function engine(backend: EmbeddedBackend, rateLimit?: number): Promise<Engine> {
    const e = await createEngine(
      {
        database: sqliteUrl(),
        sequencesDir: sequencesDir(),
        transport: { type: 'memory', ...(rateLimit ? { rateLimit } : {}) },
      } as never,
      { clock: new ManualClock(Date.UTC(2026, 5, 2, 10)), transport: new MemoryTransport(), backend, logger: silent },
    );
    engines.push(e);
    return e;
  }

  it('takes the rate limit from the backend when it offers a shared one, and counts outcomes in stats()', async () => {
    const backend = new SharingBackend(4);
    const e = await engine(backend, 50);
    expect(backend.asked).toEqual([['rate:memory', 50]]);
    await seedDue(e, 6);
    const before = e.sending.stats();
    await e.runDue();
    expect(backend.takes).toBe(6);
    const after = e.sending.stats();
    expect(after.counts.sent).toBe(6);
    expect(after.gateTimings.mails).toBe(6);
    expect(before.counts.sent).toBe(0); // a copy, not a live view
    expect(after.pause).toEqual({ until: 0, reason: null });
    expect(await e.sending.pausedUntil()).toBe(0);
  });

  it('asks for no shared limiter without a configured rate; each engine has its own counters', async () => {
    const backend = new SharingBackend(4);
    const a = await engine(backend);
    const b = await engine(new EmbeddedBackend(4));
    expect(backend.asked).toEqual([]);
    await seedDue(a, 3);
    await a.runDue();
    expect(a.sending.stats().counts.sent).toBe(3);
    expect(b.sending.stats().counts.sent).toBe(0);
  });

  it('BullMQ shares the limiter through one Redis key under its queue prefix', async () => {
    const queueName = `cbtest-rate-${process.pid}-${Date.now().toString(36)}`;
    const backend = new BullmqBackend({ url: REDIS_URL, queueName, concurrency: 1, log: silent });
    const redis = new Redis(REDIS_URL);
    try {
      await backend.rateLimiter('rate:smtp', 1000).take();
      expect(Number(await redis.pttl(`${queueName}:rate:smtp`))).toBeGreaterThan(0);
    } finally {
      await redis.del(`${queueName}:rate:smtp`);
      redis.disconnect();
      await backend.obliterate();
      await backend.stop();
    }
  });
});
