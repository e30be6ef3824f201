/**
 * The crash test: 5,000 due messages to a real SMTP server while the `comeback worker` process is
 * killed with SIGKILL at 10 random moments (each while it is sending) and started again.
 * No message may arrive twice, every message must end `sent` or `uncertain`, and at most
 * `worker.maxInDoubt` messages per kill may be `uncertain` (by default one per pooled SMTP
 * connection: 8 here).
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { maxInDoubtOf, parseConfig } from '../../src/config/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { sqliteUrl } from '../helpers/backends.js';
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

const MESSAGES = 5000;
const KILLS = 10;

let sink: SmtpSink;
let engine: Engine;
let child: ChildProcess | undefined;

beforeAll(async () => {
  await ensureBuilt();
  sink = new SmtpSink();
  await sink.start();
}, 120_000);

afterAll(async () => {
  child?.kill('SIGKILL');
  await engine?.close();
  await sink?.stop();
});

it(`sends ${MESSAGES} messages exactly once across ${KILLS} SIGKILLs of the worker`, async () => {
  const database = sqliteUrl();
  const seqDir = sequencesDir();
  const config = {
    database,
    sequencesDir: seqDir,
    templatesDir: join(ROOT, 'templates'),
    transport: { type: 'smtp', url: sink.url, pool: 8 },
    worker: { pollIntervalMs: 100, claimTimeoutMs: 1500, sendingTimeoutMs: 1500, concurrency: 16, batchSize: 500 },
  };
  engine = await createEngine({ ...config, transport: { type: 'memory' } } as never);
  await seedDue(engine, MESSAGES);
  const configFile = writeConfig(config);

  const received = () => sink.accepted.length;
  let kills = 0;
  const started = Date.now();
  while (kills < KILLS) {
    child = spawnWorker(configFile);
    const before = received();
    // Kill while it is sending: after it delivered something, at a random moment within ~0.6 s.
    await waitFor(() => received() > before + 20 || child!.exitCode !== null, 30_000, 'the worker to start sending');
    expect(child.exitCode, (child as never as { stderrText: () => string }).stderrText()).toBeNull();
    await new Promise((r) => setTimeout(r, Math.random() * 600));
    child.kill('SIGKILL');
    await exited(child);
    kills++;
  }
  expect(received()).toBeLessThan(MESSAGES); // the kills really happened mid-run

  // A last worker finishes the run (and turns what the kills left in `sending` into `uncertain`).
  child = spawnWorker(configFile);
  await waitFor(
    async () => {
      const c = await statusCounts(engine);
      return (c.sent ?? 0) + (c.uncertain ?? 0) === MESSAGES;
    },
    120_000,
    'every message to end sent or uncertain',
    250,
  );
  child.kill('SIGTERM');
  expect(await exited(child)).toBe(0);

  const counts = await statusCounts(engine);
  const duplicates = sink.duplicates();
  const uncertain = counts.uncertain ?? 0;
  const rows = await engine.ctx.k.selectFrom('messages').select(['id', 'status']).execute();
  const notDelivered = rows.filter((r) => r.status === 'sent' && !sink.counts.has(r.id));
  console.log(
    `crash test: ${MESSAGES} messages, ${kills} SIGKILLs, ${((Date.now() - started) / 1000).toFixed(1)} s: ` +
      `sent ${counts.sent}, uncertain ${uncertain}, duplicates ${duplicates.length}, received ${sink.accepted.length}`,
  );
  expect(duplicates).toEqual([]);
  expect(counts).toEqual({ sent: MESSAGES - uncertain, ...(uncertain ? { uncertain } : {}) });
  // The workers' in-doubt limit (their SMTP config; the test's own engine sends to memory).
  expect(uncertain).toBeLessThanOrEqual(kills * maxInDoubtOf(parseConfig(config as never)));
  expect(notDelivered).toEqual([]); // `sent` means the server said 250
  expect(sink.accepted.length).toBeGreaterThanOrEqual(MESSAGES - uncertain);
}, 240_000);
