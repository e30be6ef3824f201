/**
 * What the sender does with SMTP failures, against a real SMTP server that refuses on purpose:
 * 4xx is retried with backoff until delivered (never twice), 5.1.1 is a hard bounce that suppresses
 * the address, 5.7.x pauses the sender and alerts without blaming the customer.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import { classifySmtpError } from '../../src/delivery/classify.js';
import type { Engine } from '../../src/engine/engine.js';
import { PermanentSendError, TransientSendError } from '../../src/errors.js';
import { formatStatus, StatusSampler } from '../../src/worker/status.js';
import { BullmqBackend } from '../../src/queue/bullmq.js';
import { postgresUrl, REDIS_URL, sqliteUrl } from '../helpers/backends.js';
import { ROOT, seedDue, sequencesDir, statusCounts, waitFor } from '../worker/fixture.js';
import { SmtpSink, type SinkOptions } from '../delivery/sink.js';

let engine: Engine | undefined;
let sink: SmtpSink | undefined;
afterEach(async () => {
  await engine?.close();
  await sink?.stop();
  engine = sink = undefined;
});

async function setup(options: SinkOptions, worker: Record<string, unknown> = {}, log = pino({ level: 'silent' })) {
  sink = new SmtpSink(options);
  await sink.start();
  engine = await createEngine(
    {
      database: sqliteUrl(),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'smtp', url: sink.url, pool: 4 },
      worker: { retryBaseMs: 20, maxAttempts: 15, concurrency: 8, ...worker },
    },
    { logger: log },
  );
  return { engine, sink };
}

/** Runs passes until `done` or the time is up. */
async function passesUntil(e: Engine, done: () => Promise<boolean>, ms = 60_000): Promise<number> {
  const end = Date.now() + ms;
  let passes = 0;
  while (!(await done())) {
    if (Date.now() > end) throw new Error(`not done after ${ms} ms: ${JSON.stringify(await statusCounts(e))}`);
    await e.runDue();
    passes++;
    await new Promise((r) => setTimeout(r, 20));
  }
  return passes;
}

describe('SMTP failures', () => {
  it('delivers everything eventually, exactly once, when 30% of attempts get a 4xx', async () => {
    const N = 300;
    let refused = 0;
    const flaky = () => {
      if (Math.random() >= 0.3) return undefined;
      refused++;
      return Math.random() < 0.5
        ? { code: 451, message: '4.3.0 Temporary local problem, try again' }
        : { code: 421, message: '4.7.0 Too many messages, slow down' };
    };
    const { engine: e, sink: s } = await setup({
      onRcpt: () => (Math.random() < 0.5 ? flaky() : undefined),
      onData: () => flaky(),
    });
    await seedDue(e, N);
    const passes = await passesUntil(e, async () => (await statusCounts(e)).sent === N);
    console.log(`4xx sink: ${N} messages, ${refused} refusals, ${passes} passes`);
    expect(refused).toBeGreaterThan(N * 0.2);
    expect(s.duplicates()).toEqual([]);
    expect(s.accepted.length).toBe(N);
    expect(await statusCounts(e)).toEqual({ sent: N });
    const retried = await e.ctx.k.selectFrom('messages').select('attempts').where('attempts', '>', 1).execute();
    expect(retried.length).toBeGreaterThan(0);
  });

  it('ends 5.1.1 recipients as hard bounces and suppresses their addresses', async () => {
    const bad = (addr: string) => /^c\d*[05]@/.test(addr); // every fifth customer has no mailbox
    const { engine: e, sink: s } = await setup({
      onRcpt: (addr) =>
        bad(addr)
          ? { code: 550, message: '5.1.1 <' + addr + '>: Recipient address rejected: User unknown' }
          : undefined,
    });
    await seedDue(e, 50);
    await passesUntil(e, async () => {
      const c = await statusCounts(e);
      return (c.sent ?? 0) + (c.failed ?? 0) === 50;
    });
    expect(await statusCounts(e)).toEqual({ sent: 40, failed: 10 });
    expect(s.accepted.length).toBe(40);
    const failed = await e.ctx.k
      .selectFrom('messages')
      .innerJoin('customers', 'customers.id', 'messages.customer_id')
      .select(['customers.email', 'customers.email_hash', 'messages.error'])
      .where('messages.status', '=', 'failed')
      .execute();
    expect(failed.every((f) => bad(f.email!) && f.error!.startsWith('hard_bounce'))).toBe(true);
    const suppressed = await e.ctx.k.selectFrom('suppressions').select(['email_hash', 'reason']).execute();
    expect(suppressed.map((r) => r.email_hash).sort()).toEqual(failed.map((f) => f.email_hash).sort());
    expect(new Set(suppressed.map((r) => r.reason))).toEqual(new Set(['hard_bounce']));
    const bounces = await e.ctx.k.selectFrom('events').select('type').where('type', '=', 'bounce').execute();
    expect(bounces).toHaveLength(10);
  });

  it('pauses the sender on a 5.7.x policy block, alerts, and suppresses nobody', async () => {
    let blocked = 0;
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const { engine: e, sink: s } = await setup(
      {
        onData: () =>
          blocked++ < 1 ? { code: 554, message: '5.7.1 Message rejected as spam by Content Filtering' } : undefined,
      },
      { concurrency: 1, policyPauseMs: 60_000 },
      log,
    );
    await seedDue(e, 20);
    const pass = await e.runDue();
    expect(pass.paused).toBe(true);
    const counts = await statusCounts(e);
    expect(counts.reserved).toBe(20 - s.accepted.length);
    expect(counts.failed).toBeUndefined();
    expect(await e.ctx.k.selectFrom('suppressions').selectAll().execute()).toEqual([]);
    const state = await e.ctx.k.selectFrom('delivery_state').selectAll().executeTakeFirstOrThrow();
    expect(state.transport).toBe('smtp');
    // policyPauseMs from the failed attempt, measured against when the pause was written (not the
    // test's own clock): a slow reply on a busy machine shortens it by seconds at most.
    expect(state.paused_until! - state.updated_at).toBeGreaterThan(50_000);
    expect(state.paused_until! - state.updated_at).toBeLessThanOrEqual(60_000);
    expect(state.reason).toContain('5.7.1');
    expect(lines.some((l) => l.includes('"alert":"sender_paused"'))).toBe(true);
    // While paused, nothing more goes out.
    const before = s.accepted.length;
    const again = await e.runDue();
    expect(again).toMatchObject({ paused: true, dispatched: 0 });
    expect(s.accepted.length).toBe(before);
  });
});

describe('an unreachable provider', () => {
  it('pauses the sender with a growing pause and one alert each; no mail uses up its attempts, all go out once it is back', async () => {
    // A port where nothing listens: the sink is started for its port, then stopped.
    const probe = new SmtpSink();
    const port = await probe.start();
    await probe.stop();
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    // The pauses run on a manual clock: a slow pass on a busy machine cannot outlast one.
    const clock = new ManualClock();
    engine = await createEngine(
      {
        database: sqliteUrl(),
        sequencesDir: sequencesDir(),
        templatesDir: join(ROOT, 'templates'),
        transport: { type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 4 },
        worker: { concurrency: 8, maxAttempts: 2, unreachablePauseMs: 150 },
      },
      { logger: log, clock },
    );
    const e = engine;
    await seedDue(e, 12);
    const pauses: number[] = [];
    for (let round = 0; round < 3; round++) {
      const pass = await e.runDue();
      expect(pass.paused).toBe(true);
      expect(await statusCounts(e)).toEqual({ reserved: 12 });
      const state = await e.ctx.k.selectFrom('delivery_state').selectAll().executeTakeFirstOrThrow();
      expect(state.reason).toMatch(
        new RegExp(`provider unreachable: SMTP 127\\.0\\.0\\.1:${port}: no session \\(.*ECONNREFUSED`),
      );
      pauses.push(state.paused_until! - state.updated_at);
      // The operator's status line says why nothing goes out.
      expect(formatStatus(await new StatusSampler(e).sample(), 'embedded')).toMatch(
        / · PAUSED until \S+ \(provider unreachable: SMTP 127\.0\.0\.1:\d+: no session/,
      );
      // Paused: the next pass sends nothing and tries nothing.
      expect(await e.runDue()).toMatchObject({ paused: true, dispatched: 0 });
      // Still paused a moment before its end; over at its end.
      clock.set(state.paused_until! - 1);
      expect(await e.runDue()).toMatchObject({ paused: true, dispatched: 0 });
      clock.set(state.paused_until!);
    }
    // Doubling while it stays down; one alert per pause, not one per mail.
    expect(pauses).toEqual([150, 300, 600]);
    expect(lines.filter((l) => l.includes('"alert":"provider_unreachable"'))).toHaveLength(3);
    // Three rounds against maxAttempts 2, yet nothing failed and no attempt was counted.
    const attempts = await e.ctx.k.selectFrom('messages').select('attempts').execute();
    expect(attempts.every((a) => a.attempts === 0)).toBe(true);

    sink = new SmtpSink();
    await sink.start(port);
    await passesUntil(e, async () => (await statusCounts(e)).sent === 12, 30_000);
    expect(sink.accepted).toHaveLength(12);
    expect(sink.duplicates()).toEqual([]);
    expect((await e.ctx.k.selectFrom('messages').select('attempts').execute()).every((a) => a.attempts === 1)).toBe(
      true,
    );
  });
});

describe('an unreachable provider on BullMQ and PostgreSQL', () => {
  it('the released mails go to the queue again as soon as the pause ends, and each is sent once', async () => {
    const probe = new SmtpSink();
    const port = await probe.start();
    await probe.stop();
    const queueName = `cbtest-down-${process.pid}-${Date.now().toString(36)}`;
    engine = await createEngine(
      // redispatchAfterMs far beyond the test: only the cleared queue mark can bring the mails back.
      {
        database: await postgresUrl(),
        redisUrl: REDIS_URL,
        sequencesDir: sequencesDir(),
        templatesDir: join(ROOT, 'templates'),
        transport: { type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 2 },
        worker: { concurrency: 4, unreachablePauseMs: 300, redispatchAfterMs: 600_000, queueName },
      },
      { logger: pino({ level: 'silent' }) },
    );
    const e = engine;
    expect(e.backend.name).toBe('bullmq');
    await seedDue(e, 10);
    await e.runDue();
    await waitFor(
      async () =>
        ((await statusCounts(e)).reserved ?? 0) === 10 &&
        (await e.ctx.k.selectFrom('delivery_state').selectAll().executeTakeFirst()) !== undefined,
      20_000,
      'the mails back, the sender paused',
    );
    sink = new SmtpSink();
    await sink.start(port);
    await passesUntil(e, async () => (await statusCounts(e)).sent === 10, 30_000);
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.accepted).toHaveLength(10);
    expect(sink.duplicates()).toEqual([]);
    expect((await e.ctx.k.selectFrom('messages').select('attempts').execute()).every((a) => a.attempts === 1)).toBe(
      true,
    );
    const cleanup = new BullmqBackend({ url: REDIS_URL, queueName, concurrency: 1, log: pino({ level: 'silent' }) });
    await cleanup.obliterate();
    await cleanup.stop();
  }, 60_000);
});

describe('SMTP reply classification', () => {
  const err = (responseCode: number | undefined, response: string, code?: string) => ({
    responseCode,
    response,
    code,
    message: response,
  });
  it.each([
    [550, '550 5.1.1 <x@example.com>: User unknown', 'hard_bounce'],
    [550, '550 5.1.10 Recipient address rejected: NULL MX', 'hard_bounce'],
    [554, '554 5.7.1 Message rejected as spam', 'policy'],
    [550, '550 5.7.26 Unauthenticated email is not accepted (DMARC)', 'policy'],
    [552, '552 5.3.4 Message size exceeds fixed limit', 'other'],
  ])('%s %s → permanent %s', (code, response, kind) => {
    const e = classifySmtpError(err(code, response));
    expect(e).toBeInstanceOf(PermanentSendError);
    expect((e as PermanentSendError).kind).toBe(kind);
  });
  it.each([
    [451, '451 4.3.0 Try again later'],
    [421, '421 4.7.0 Too many connections'],
    [450, '450 4.2.1 Mailbox busy'],
    [undefined, 'Connection timeout', 'ETIMEDOUT'],
    [undefined, 'connect ECONNREFUSED', 'ECONNECTION'],
  ])('%s %s → retry', (code, response, c) => {
    expect(classifySmtpError(err(code, response, c))).toBeInstanceOf(TransientSendError);
  });
});
