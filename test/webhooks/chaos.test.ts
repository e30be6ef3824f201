/**
 * The must-have guarantee: against a receiver that fails 30 % of requests, is slow (some answers
 * come after the timeout), and is down for a while, while the `comeback worker` process is killed
 * with SIGKILL mid-delivery three times, every event arrives and each `webhook-id` is processed
 * once by the receiver's dedupe. On SQLite (embedded) and on PostgreSQL with BullMQ.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import type { Engine } from '../../src/engine/engine.js';
import { postgresUrl, REDIS_URL, sqliteUrl } from '../helpers/backends.js';
import {
  ensureBuilt,
  exited,
  ROOT,
  seedDue,
  sequencesDir,
  spawnWorker,
  waitFor,
  writeConfig,
} from '../worker/fixture.js';
import { Receiver, TEST_SECRET } from './receiver.js';

const CUSTOMERS = 100;
const KILLS = 3;

/** A seeded generator (mulberry32), so a failing run can be repeated. */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let engine: Engine | undefined;
let receiver: Receiver | undefined;
let child: ChildProcess | undefined;

beforeAll(() => ensureBuilt(), 180_000);
afterEach(async () => {
  child?.kill('SIGKILL');
  await engine?.close();
  await receiver?.close();
  engine = receiver = child = undefined;
});

const backends = [
  { name: 'sqlite (embedded)', database: async () => sqliteUrl(), redis: false },
  { name: 'postgres + bullmq', database: postgresUrl, redis: true },
];

describe.each(backends)('webhooks across SIGKILLs on $name', ({ database, redis }) => {
  it(`delivers every event of ${CUSTOMERS} customers once past ${KILLS} kills, a 30 % failure rate, timeouts and an outage`, async () => {
    const random = seeded(23);
    receiver = new Receiver();
    receiver.faults = { failRate: 0.3, random, delayMs: () => (random() < 0.05 ? 1_500 : random() * 30) };
    await receiver.up();
    const config = {
      database: await database(),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'outbox', dir: mkdtempSync(join(tmpdir(), 'comeback-eml-')) },
      webhooks: [
        { name: 'crm', url: receiver.url, events: ['enrollment.created', 'message.sent'], secret: TEST_SECRET },
      ],
      webhookDelivery: {
        timeoutMs: 1_000,
        backoffBaseMs: 50,
        backoffMaxMs: 400,
        pollIntervalMs: 50,
        pauseAfterFailures: 10_000,
      },
      worker: {
        pollIntervalMs: 100,
        audienceIntervalMs: 0,
        claimTimeoutMs: 1500,
        sendingTimeoutMs: 1500,
        redispatchAfterMs: 2000,
        jobLockMs: 2000,
        ...(redis ? { queueName: `cbtest-hooks-${process.pid}-${Date.now().toString(36)}` } : {}),
      },
      ...(redis ? { redisUrl: REDIS_URL } : {}),
    };
    engine = await createEngine({ ...config, redisUrl: undefined } as never, {
      logger: pino({ level: 'silent' }),
      jobs: false,
    });
    await seedDue(engine, CUSTOMERS); // one enrollment.created each, in the outbox
    const file = writeConfig(config);

    for (let kill = 0; kill < KILLS; kill++) {
      child = spawnWorker(file);
      const before = receiver.processed.size;
      if (kill === 1) {
        // Down for a while: the worker meets refused connections, then the receiver is back.
        await receiver.down();
        await waitFor(() => child!.exitCode !== null || receiver!.requests >= 0, 1_000, 'the worker to start');
        await new Promise((r) => setTimeout(r, 1_500));
        await receiver.up();
      }
      // Kill while a request is in flight, after some progress.
      await waitFor(
        () => child!.exitCode !== null || (receiver!.processed.size > before + 15 && receiver!.inFlight > 0),
        60_000,
        'the worker to deliver',
        2,
      );
      expect(child.exitCode, (child as never as { stderrText: () => string }).stderrText?.()).toBeNull();
      child.kill('SIGKILL');
      await exited(child);
    }

    child = spawnWorker(file);
    const k = engine.ctx.k;
    const delivered = async () => {
      const open = await k
        .selectFrom('webhook_deliveries')
        .select('id')
        .where('status', '!=', 'delivered')
        .limit(1)
        .execute();
      const outbox = await k.selectFrom('webhook_outbox').select('id').limit(1).execute();
      const sending = await k
        .selectFrom('messages')
        .select('id')
        .where('status', 'in', ['reserved', 'claimed', 'sending'])
        .limit(1)
        .execute();
      return open.length + outbox.length + sending.length === 0;
    };
    await waitFor(delivered, 120_000, 'every webhook to be delivered', 100);
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);

    // Every enrolment and every sent mail arrived, each processed once; redeliveries were deduped.
    const got = [...receiver.processed.values()];
    const enrollments = (await k.selectFrom('enrollments').select('id').execute())
      .map((r) => r.id)
      .sort((a, b) => a - b);
    const sent = (await k.selectFrom('messages').select('id').where('status', '=', 'sent').execute())
      .map((r) => r.id)
      .sort((a, b) => a - b);
    expect(enrollments).toHaveLength(CUSTOMERS);
    expect(sent.length).toBeGreaterThan(CUSTOMERS - KILLS * 2); // a kill mid-send may leave one `uncertain`
    const reported = (type: string, pick: (b: any) => number) =>
      got
        .filter((r) => r.type === type)
        .map((r) => pick(r.body.data))
        .sort((a, b) => a - b);
    expect(reported('enrollment.created', (d) => d.enrollment.id)).toEqual(enrollments);
    expect(reported('message.sent', (d) => d.message.id)).toEqual(sent);
    expect(receiver.badSignatures).toBe(0);
    expect(receiver.requests).toBeGreaterThan(got.length); // failures and redeliveries really happened
    console.log(
      `webhooks chaos: ${got.length} events, ${receiver.requests} requests, ${receiver.duplicates} duplicates deduped`,
    );
  }, 240_000);
});
