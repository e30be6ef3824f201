/**
 * Transient failures back off exponentially with jitter until `maxAttempts`, and the worker's
 * live status line on a terminal shows what waits, retries and failed.
 */
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { ManualClock } from '../../src/clock.js';
import {
  commitPoint,
  type OutgoingMail,
  type SendHooks,
  type SendReceipt,
  type Transport,
} from '../../src/delivery/types.js';
import type { Engine } from '../../src/engine/engine.js';
import { TransientSendError } from '../../src/errors.js';
import { runWorker } from '../../src/worker/run.js';
import { sqliteUrl } from '../helpers/backends.js';
import { seedDue, sequencesDir, statusCounts } from '../worker/fixture.js';

/** A provider that answers every message with a temporary failure (SMTP 4xx) before accepting it. */
class AlwaysBusy implements Transport {
  readonly name = 'busy';
  attempts = 0;
  async send(_mail: OutgoingMail, hooks?: SendHooks): Promise<SendReceipt> {
    await commitPoint(hooks);
    this.attempts++;
    throw new TransientSendError('451 4.3.0 try again later');
  }
}

let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  engine = undefined;
});

it('retries with exponential backoff and jitter, gives up after maxAttempts, and the status line shows it', async () => {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 10));
  const transport = new AlwaysBusy();
  const base = 60_000;
  engine = await createEngine(
    { database: sqliteUrl(), sequencesDir: sequencesDir(), worker: { retryBaseMs: base, maxAttempts: 3 } },
    { transport, clock, logger: pino({ level: 'silent' }) },
  );
  const e = engine;
  await seedDue(e, 40);
  const delays = async () =>
    (await e.ctx.k.selectFrom('messages').select('due_at').execute()).map((r) => r.due_at - clock.now());

  // Attempt n waits 50–100 % of base·2^(n-1): the spread keeps retries from arriving together.
  for (const attempt of [1, 2]) {
    await e.runDue();
    expect(await statusCounts(e)).toEqual({ reserved: 40 });
    const d = await delays();
    const full = base * 2 ** (attempt - 1);
    expect(Math.min(...d)).toBeGreaterThanOrEqual(full * 0.5);
    expect(Math.max(...d)).toBeLessThanOrEqual(full);
    expect(new Set(d).size).toBeGreaterThan(20);
    // Not due before its time: a pass now sends nothing.
    const before = transport.attempts;
    await e.runDue();
    expect(transport.attempts).toBe(before);
    clock.advance(full);
  }

  // The live line on a terminal (a TTY stream), drawn at the end of a run.
  let screen = '';
  const tty = { columns: 200, write: (s: string) => ((screen += s), true) } as unknown as NodeJS.WriteStream;
  const summary = await runWorker(e, { once: true, statusStream: tty });
  expect(transport.attempts).toBe(120);
  expect(await statusCounts(e)).toEqual({ failed: 40 });
  const rows = await e.ctx.k.selectFrom('messages').select(['attempts', 'error']).execute();
  expect(rows.every((r) => r.attempts === 3 && r.error!.startsWith('gave up after 3 attempts: 451 4.3.0'))).toBe(true);
  expect(summary).toMatchObject({ failed: 40, sent: 0 });
  const line = screen.split('\r\x1b[2K').pop()!;
  expect(line).toMatch(
    /^comeback worker \[embedded\] · sent 0 \(0\/s\) · due 0 · in flight 0 · retrying 0 · uncertain 0 · failed 40\n$/,
  );
});
