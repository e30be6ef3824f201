/** `comeback webhooks list|replay|test|secret` and the webhook lines of `comeback check`, in process. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { createEngine, type Engine } from '../../src/index.js';
import { ManualClock } from '../../src/testing.js';
import { createLogger } from '../../src/logger.js';
import { emitEvents, WebhookDispatcher } from '../../src/webhooks/index.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { checkWebhooks } from '../../src/cli/commands/check.js';
import { Receiver, TEST_SECRET } from './receiver.js';

let receiver: Receiver | undefined;
let engine: Engine | undefined;
afterEach(async () => {
  await engine?.close();
  await receiver?.close();
  engine = receiver = undefined;
  process.exitCode = undefined;
});

it('lists endpoints and dead letters, replays them, sends a test event and prints a secret', async () => {
  receiver = new Receiver();
  await receiver.up();
  const config = {
    database: sqliteUrl(),
    sequencesDir: mkdtempSync(join(tmpdir(), 'cb-seq-')),
    webhooks: [{ name: 'crm', url: receiver.url, events: ['*'], secret: TEST_SECRET }],
    webhookDelivery: { allowLocal: true, retryForHours: 1 },
  };
  const file = join(mkdtempSync(join(tmpdir(), 'cb-cfg-')), 'comeback.config.json');
  writeFileSync(file, JSON.stringify(config));
  const clock = new ManualClock(Date.now());
  engine = await createEngine(config as never, { sequences: [], clock, logger: createLogger({ level: 'silent' }) });
  receiver.faults.status = 500;
  await emitEvents(engine.ctx.k, engine.ctx.config, [
    { type: 'sequence.paused', sequenceId: 's', data: { reason: 'x' }, occurredAt: Date.now() },
  ]);
  const d = new WebhookDispatcher(engine.ctx);
  await d.tick();
  clock.advance(3_600_000); // the retry period ends
  await d.tick();

  const check = await checkWebhooks(engine.ctx);
  expect(check).toEqual([
    { what: 'webhooks', verdict: 'warn', detail: expect.stringContaining('1 webhook event for crm failed for good') },
  ]);
  const list = await runCliInProcess(['--config', file, 'webhooks', 'list']);
  expect(list.out).toContain('crm  ' + receiver.url);
  expect(list.out).toMatch(/active; pending 0, delivered 0, dead 1/);
  const dead = await runCliInProcess(['--config', file, 'webhooks', 'list', '--dead']);
  expect(dead.out).toMatch(/^\d+\tcrm\tevt_1\tsequence\.paused\t2 attempts\t.*HTTP 500/);

  receiver.faults.status = undefined;
  const replayed = await runCliInProcess(['--config', file, 'webhooks', 'replay', '--endpoint', 'crm']);
  expect(replayed.out).toContain('1 event queued again');
  await d.tick();
  expect([...receiver.processed.keys()]).toEqual(['evt_1']);
  expect(await checkWebhooks(engine.ctx)).toEqual([
    { what: 'webhooks', verdict: 'ok', detail: '1 endpoint(s) active, 0 event(s) waiting' },
  ]);

  const test = await runCliInProcess(['--config', file, 'webhooks', 'test', 'crm']);
  expect(test.out).toMatch(/^test_\w+: delivered \(HTTP 204\)/);
  expect([...receiver.processed.values()].at(-1)!.type).toBe('webhook.test');
  receiver.faults.status = 410;
  const gone = await runCliInProcess(['--config', file, 'webhooks', 'test', 'crm']);
  expect(gone.out).toContain('failed: HTTP 410');
  expect(process.exitCode).toBe(1);

  const secret = await runCliInProcess(['webhooks', 'secret']);
  expect(secret.out).toMatch(/^whsec_[A-Za-z0-9+/]{43}=\n$/);
});
