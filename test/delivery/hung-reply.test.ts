/**
 * A reply that hangs on one pooled SMTP connection holds up only that connection: by default a
 * worker lets one mail per pooled connection past the point of no return (`worker.maxInDoubt`),
 * so the other connections keep sending while the server sits on one final dot.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { maxInDoubtOf } from '../../src/config/index.js';
import type { Engine } from '../../src/engine/engine.js';
import { runWorker } from '../../src/worker/run.js';
import { sqliteUrl } from '../helpers/backends.js';
import { ROOT, seedDue, sequencesDir, statusCounts, waitFor } from '../worker/fixture.js';
import { SmtpSink } from './sink.js';

let engine: Engine | undefined;
let sink: SmtpSink | undefined;

afterEach(async () => {
  await engine?.close();
  await sink?.stop();
  engine = sink = undefined;
});

it('a hung reply on one SMTP connection does not stop the others (default maxInDoubt: one per pooled connection)', async () => {
  let release = () => {};
  const held = new Promise<void>((resolve) => (release = resolve));
  let hung: number | null = null;
  // The server takes the first mail's body and then says nothing until the test lets it answer.
  sink = new SmtpSink({
    onData: (mail) => (hung === null || mail.messageId === hung ? ((hung = mail.messageId), held) : undefined),
  });
  await sink.start();
  const N = 16;
  engine = await createEngine(
    {
      database: sqliteUrl(),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      // The timeout is far beyond the test: the hang ends only when the test releases it.
      transport: { type: 'smtp', url: sink.url, pool: 4, timeoutMs: 600_000 },
      worker: { concurrency: 8, pollIntervalMs: 50 },
    },
    { logger: pino({ level: 'silent' }) },
  );
  expect(maxInDoubtOf(engine.ctx.config)).toBe(4);
  await seedDue(engine, N);
  const run = runWorker(engine, { untilIdle: true });
  // Every other mail goes out over the other three connections while the first one hangs.
  await waitFor(() => sink!.accepted.length === N - 1, 60_000, 'the other mails to be accepted while one reply hangs');
  const hungRow = await engine.ctx.k
    .selectFrom('messages')
    .select('status')
    .where('id', '=', hung!)
    .executeTakeFirstOrThrow();
  expect(hungRow.status).toBe('sending'); // still past the point of no return, unanswered
  release();
  await run;
  expect(await statusCounts(engine)).toEqual({ sent: N });
  expect(sink.duplicates()).toEqual([]);
}, 120_000);
