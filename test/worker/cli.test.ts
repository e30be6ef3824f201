/**
 * `comeback worker` as an operator runs it: --once, --until-idle, SIGTERM finishing the sends in
 * flight within 10 s, a second signal forcing the exit; the ledger's recovery rules.
 */
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { MemoryTransport } from '../../src/delivery/memory.js';
import type { Engine } from '../../src/engine/engine.js';
import { Ledger, dueMessageIds, sweep } from '../../src/engine/ledger.js';
import { trackerDeps } from '../../src/engine/tracking.js';
import { Tracker } from '../../src/tracking/tracker.js';
import { EventWriter, sinkFor } from '../../src/tracking/writer.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { SmtpSink } from '../delivery/sink.js';
import {
  ensureBuilt,
  exited,
  reservedMessages,
  ROOT,
  seedDue,
  sequencesDir,
  spawnWorker,
  statusCounts,
  waitFor,
  writeConfig,
} from './fixture.js';

let sink: SmtpSink;
let engine: Engine | undefined;
beforeAll(async () => {
  await ensureBuilt();
  sink = new SmtpSink();
  await sink.start();
}, 120_000);
afterEach(async () => {
  sink.reset();
  await engine?.close();
  engine = undefined;
});
afterAll(async () => sink?.stop());

async function setup(n: number, worker: Record<string, unknown> = {}) {
  const config = {
    database: sqliteUrl(),
    sequencesDir: sequencesDir(),
    templatesDir: join(ROOT, 'templates'),
    transport: { type: 'smtp', url: sink.url, pool: 2 },
    worker: { pollIntervalMs: 100, ...worker },
  };
  engine = await createEngine({ ...config, transport: { type: 'memory' } } as never, {
    logger: pino({ level: 'silent' }),
  });
  await seedDue(engine, n);
  return { configFile: writeConfig(config), e: engine };
}

const output = (child: ReturnType<typeof spawnWorker>) => {
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  return () => out;
};

describe('comeback worker', () => {
  it('--until-idle sends everything due and exits 0 with a summary', async () => {
    const { configFile, e } = await setup(40);
    const child = spawnWorker(configFile, ['--until-idle']);
    const out = output(child);
    expect(await exited(child)).toBe(0);
    expect(out()).toContain('sent 40, retrying 0, failed 0, uncertain 0\nnext: nothing planned\n');
    expect(await statusCounts(e)).toEqual({ sent: 40 });
    expect(sink.duplicates()).toEqual([]);
  }, 60_000);

  it('evaluates the audiences at start: lapsed customers with consent are enrolled and mailed; `comeback enroll` finds nobody new', async () => {
    const lapsed = `id: lapsed\nname: Lapsed\nversion: 1\naudience: { dormant: { min_days: 45 } }\nconsent: [double_opt_in]\nsteps:\n  - { id: hello, template: winback/miss-you, subject: "Hello {{first_name}}" }\n`;
    const config = {
      database: sqliteUrl(),
      sequencesDir: sequencesDir(lapsed),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'smtp', url: sink.url, pool: 2 },
      worker: { pollIntervalMs: 100 },
    };
    engine = await createEngine({ ...config, transport: { type: 'memory' } } as never, {
      logger: pino({ level: 'silent' }),
    });
    const now = engine.ctx.clock.now();
    await engine.customers.upsert(
      ['gone', 'recent', 'no-consent'].map((id) => ({
        externalId: id,
        email: `${id}@example.com`,
        firstName: id,
        locale: 'en',
      })),
    );
    for (const [id, daysAgo] of [
      ['gone', 120],
      ['recent', 5],
      ['no-consent', 120],
    ] as const) {
      await engine.orders.record({
        externalId: `${id}-1`,
        customerExternalId: id,
        orderedAt: now - daysAgo * 86_400_000,
        totalMinor: 2500,
      });
    }
    for (const id of ['gone', 'recent'])
      await engine.consents.record({
        customer: id,
        action: 'grant',
        basis: 'double_opt_in',
        source: 'newsletter_form',
      });
    const configFile = writeConfig(config);
    const child = spawnWorker(configFile, ['--until-idle']);
    const out = output(child);
    expect(await exited(child)).toBe(0);
    expect(out()).toContain('sent 1, retrying 0, failed 0, uncertain 0');
    expect(sink.accepted.map((m) => m.to)).toEqual(['gone@example.com']);

    const again = spawn(process.execPath, [join(ROOT, 'bin/comeback.js'), '--config', configFile, 'enroll', '--json'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const json = output(again);
    expect(await exited(again)).toBe(0);
    expect(JSON.parse(json())).toMatchObject([
      { sequenceId: 'lapsed', enrolled: 0, holdout: 0, skipped: { no_consent: 1 } },
    ]);
    expect(await statusCounts(engine)).toEqual({ sent: 1 });
  }, 60_000);

  it('SIGTERM while the mail server accepts connections but never answers: exits after the grace time, nothing sent twice', async () => {
    const silent = createServer((socket) => socket.on('error', () => {})); // accepts, says nothing
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { configFile, e } = await setup(20, { shutdownTimeoutMs: 1000 });
    const cfg = JSON.parse(readFileSync(configFile, 'utf8'));
    cfg.transport.url = `smtp://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    writeFileSync(configFile, JSON.stringify(cfg));
    const child = spawnWorker(configFile);
    try {
      await waitFor(async () => ((await statusCounts(e)).claimed ?? 0) > 0, 30_000, 'a claim');
      child.kill('SIGTERM');
      // The grace time (1 s) ran out with sends in flight: exit 1 and the log says so. The send
      // itself would hang for the transport's timeout (60 s), beyond this test's own timeout.
      expect(await exited(child)).toBe(1);
      expect((child as typeof child & { stderrText: () => string }).stderrText()).toContain(
        'sends still in flight after the grace time',
      );
      const counts = await statusCounts(e);
      expect(counts.sent ?? 0).toBe(0);
      expect(counts.sending ?? 0).toBe(0); // never reached the point of no return: the next worker sends them
    } finally {
      child.kill('SIGKILL');
      silent.close();
    }
  }, 60_000);

  it('SIGTERM stops claiming, finishes the sends in flight and exits 0; a second signal forces', async () => {
    // A slow server: every message takes 300 ms to be accepted.
    const slow = new SmtpSink({ delayMs: 300 });
    await slow.start();
    const { configFile, e } = await setup(400, { concurrency: 4 });
    const cfg = JSON.parse(readFileSync(configFile, 'utf8'));
    cfg.transport.url = slow.url;
    writeFileSync(configFile, JSON.stringify(cfg));
    const child = spawnWorker(configFile);
    await waitFor(() => slow.accepted.length >= 3, 60_000, 'sending to start');
    child.kill('SIGTERM');
    const code = await exited(child);
    // Exit 0: the sends in flight finished within the grace time, and claiming stopped at the
    // signal (most of the 400 are still waiting), however long a busy machine took to get there.
    expect(code).toBe(0);
    expect(slow.accepted.length).toBeLessThan(400);
    const counts = await statusCounts(e);
    expect(counts.claimed ?? 0).toBe(0); // nothing left half-done
    expect(counts.sending ?? 0).toBe(0);
    expect(counts.sent).toBe(slow.accepted.length);
    expect(counts.reserved).toBe(400 - slow.accepted.length); // the rest waits for the next worker
    // A second signal does not wait.
    const again = spawnWorker(configFile);
    await waitFor(() => slow.accepted.length >= counts.sent! + 2, 60_000, 'sending to resume');
    again.kill('SIGTERM');
    again.kill('SIGINT');
    expect(await exited(again)).toBe(130);
    await slow.stop();
  }, 120_000);

  it('warns when no sequences are loaded because the sequence folder does not exist', async () => {
    const { configFile } = await setup(1);
    const missing = join(ROOT, 'no-such-sequences-folder');
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    writeFileSync(configFile, JSON.stringify({ ...config, sequencesDir: missing }));
    const child = spawnWorker(configFile, ['--once']);
    expect(await exited(child)).toBe(0);
    const err = (child as typeof child & { stderrText: () => string }).stderrText();
    expect(err).toContain('no sequences loaded: the folder does not exist');
    expect(err).toContain(missing);
  }, 60_000);

  it('--until-idle stops when the provider cannot be reached: exit 1, the pause and its reason on stderr, every mail kept', async () => {
    const { configFile, e } = await setup(6);
    const probe = new SmtpSink();
    const port = await probe.start();
    await probe.stop();
    const config = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    // A pause of 10 minutes: --until-idle must stop at once rather than wait it out.
    const worker = { ...(config.worker as object), unreachablePauseMs: 600_000 };
    writeFileSync(
      configFile,
      JSON.stringify({ ...config, worker, transport: { type: 'smtp', url: `smtp://127.0.0.1:${port}`, pool: 2 } }),
    );
    const child = spawnWorker(configFile, ['--until-idle']);
    const out = output(child);
    // It exits instead of waiting out the 10-minute pause (which would exceed this test's timeout).
    const code = await exited(child);
    expect(code, `${out()}\n${(child as typeof child & { stderrText: () => string }).stderrText()}`).toBe(1);
    expect(out()).toContain('sent 0, retrying 0, failed 0, uncertain 0');
    const err = (child as typeof child & { stderrText: () => string }).stderrText();
    expect(err).toMatch(/sending is paused until \S+: provider unreachable: SMTP 127\.0\.0\.1:\d+: no session/);
    expect(await statusCounts(e)).toEqual({ reserved: 6 });
    // `comeback stats` says so before its figures.
    expect((await runCliInProcess(['--config', configFile, 'stats'])).out).toMatch(
      /^! sending is paused until \S+: provider unreachable: SMTP/,
    );
  }, 60_000);

  it('--once runs one pass', async () => {
    const { configFile, e } = await setup(5);
    const child = spawnWorker(configFile, ['--once']);
    expect(await exited(child)).toBe(0);
    expect(await statusCounts(e)).toEqual({ sent: 5 });
  }, 60_000);
});

describe('send ledger recovery', () => {
  it('releases stale claims, turns stale sends uncertain, fences late writers, and lets a late 250 win', async () => {
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir(), worker: { claimTimeoutMs: 1000, sendingTimeoutMs: 1000 } },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    const e = engine;
    const ids = await reservedMessages(e, 3);
    const [a, b, c] = await Promise.all(ids.map((id) => new Ledger(e.ctx).claim(id)));
    expect(await new Ledger(e.ctx).claim(ids[0]!)).toBeUndefined(); // claimed once
    expect(await new Ledger(e.ctx).markSending(b!)).toBe(true);
    expect(await new Ledger(e.ctx).markSending(c!)).toBe(true);
    await e.ctx.k.updateTable('messages').set({ claimed_at: 0, updated_at: 0 }).execute(); // long ago
    expect(await sweep(e.ctx)).toEqual({ released: 1, uncertain: 2 });
    // The stale worker of `a` wakes up: its claim no longer holds.
    expect(await new Ledger(e.ctx).markSending(a!)).toBe(false);
    expect(await new Ledger(e.ctx).record(a!, { status: 'sent' })).toBe(false);
    // The worker of `c` finally gets its 250: the truth replaces `uncertain`.
    expect(await new Ledger(e.ctx).record(c!, { status: 'sent', sent_at: 1 })).toBe(true);
    const rows = await e.ctx.k.selectFrom('messages').select(['id', 'status']).orderBy('id').execute();
    expect(rows.map((r) => r.status)).toEqual(['reserved', 'uncertain', 'sent']);
    // `uncertain` is shown in stats.
    const [stats] = await e.stats('blast');
    expect(stats).toMatchObject({ uncertain: 1, sent: 1 });
  });

  it('the links of a mail that ends uncertain still lead to their targets (it may have arrived)', async () => {
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir(), worker: { sendingTimeoutMs: 1000 } },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    const e = engine;
    const [id] = (await reservedMessages(e, 1)) as [number];
    const m = (await new Ledger(e.ctx).claim(id))!;
    expect(
      await new Ledger(e.ctx).markSending(m, {
        subject: 'We miss you',
        links: JSON.stringify(['https://shop.example.com/p/tea']),
      }),
    ).toBe(true);
    // The worker dies before the reply is recorded.
    await e.ctx.k.updateTable('messages').set({ updated_at: 0 }).execute();
    expect((await sweep(e.ctx)).uncertain).toBe(1);
    const token = new URL(e.ctx.urls.click(id, 0)).pathname.split('/').pop()!;
    const writer = new EventWriter(sinkFor(e.ctx.db));
    const out = await new Tracker(trackerDeps(e.ctx), writer).click(token, {
      userAgent: 'Mozilla/5.0',
      ip: '192.0.2.1',
    });
    await writer.close();
    expect(out).toMatchObject({ kind: 'redirect', url: 'https://shop.example.com/p/tea' });
    expect(await e.ctx.k.selectFrom('messages').select(['status', 'subject']).executeTakeFirstOrThrow()).toEqual({
      status: 'uncertain',
      subject: 'We miss you',
    });
  });

  it('a queued message of a sequence paused and resumed is queued again at once, not after redispatchAfterMs', async () => {
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir() },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    const e = engine;
    const ids = await reservedMessages(e, 2);
    const queue = async () => (await dueMessageIds(e.ctx, 10, 300_000)).sort();
    expect(await queue()).toEqual(ids); // handed to the queue
    await e.pause('blast');
    expect(await queue()).toEqual([]); // parked
    await e.resume('blast');
    expect(await queue()).toEqual(ids);
  });

  it('a queued message that goes back to reserved (stale claim, retry, unreachable provider) is queued again when due, not after redispatchAfterMs', async () => {
    engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir(), worker: { claimTimeoutMs: 1000 } },
      { transport: new MemoryTransport(), logger: pino({ level: 'silent' }) },
    );
    const e = engine;
    await reservedMessages(e, 3);
    const queue = () => dueMessageIds(e.ctx, 10, 300_000);
    const ids = await queue(); // handed to the queue
    expect(ids).toHaveLength(3);
    expect(await queue()).toEqual([]); // not twice
    const [a, b, c] = await Promise.all(ids.map((id) => new Ledger(e.ctx).claim(id)));
    expect(await new Ledger(e.ctx).record(a!, { status: 'reserved', due_at: 0, error: '451 try again' })).toBe(true);
    expect(await new Ledger(e.ctx).release(b!, 0, 'connect ECONNREFUSED')).toBe(true);
    await e.ctx.k.updateTable('messages').set({ claimed_at: 0 }).where('id', '=', c!.id).execute();
    expect((await sweep(e.ctx)).released).toBe(1);
    expect((await queue()).sort()).toEqual([...ids].sort());
    // The unreachable provider's release did not count the attempt; the retry did.
    const attempts = await e.ctx.k.selectFrom('messages').select(['id', 'attempts']).orderBy('id').execute();
    expect(attempts.map((r) => r.attempts)).toEqual([1, 0, 1]);
  });
});
