/**
 * `comeback worker` refuses to deliver to real people (SMTP, SendGrid) with the demo settings:
 * the public development secret, the demo shop as sender and postal address, links to localhost.
 */
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { liveSendingProblems } from '../../src/config/live-sending.js';
import { parseConfig } from '../../src/config/index.js';
import { ConfigError } from '../../src/errors.js';
import { sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { SmtpSink } from '../delivery/sink.js';
import { ROOT, seedDue, sequencesDir, statusCounts, writeConfig } from '../worker/fixture.js';

const ready = {
  secret: 'a-long-random-secret-for-the-tests-0123456789',
  sender: { name: 'Tea & Co', from: 'hello@tea.example', postalAddress: 'Tea & Co GmbH, Hafenstr. 1, 20457 Hamburg' },
  publicUrl: 'https://track.tea.example',
};

let sink: SmtpSink;
beforeAll(async () => {
  sink = new SmtpSink();
  await sink.start();
});
afterAll(async () => sink?.stop());

describe('sending to real people needs real settings', () => {
  it('names every demo setting and its fix; the outbox and memory transports need none', () => {
    const problems = liveSendingProblems(parseConfig({ transport: { type: 'sendgrid', apiKey: 'SG.key' } }));
    expect(problems.map((p) => p.split(':')[0])).toEqual([
      'secret',
      'sender.from / sender.name',
      'sender.postalAddress',
      'publicUrl',
    ]);
    expect(problems[0]).toContain('COMEBACK_SECRET');
    expect(problems[3]).toContain('http://localhost:8080');
    expect(liveSendingProblems(parseConfig({}))).toEqual([]);
    expect(liveSendingProblems(parseConfig({ transport: { type: 'memory' } }))).toEqual([]);
    expect(
      liveSendingProblems(parseConfig({ ...ready, transport: { type: 'smtp', url: 'smtp://mail.tea.example:587' } })),
    ).toEqual([]);
    expect(
      liveSendingProblems(
        parseConfig({ ...ready, publicUrl: 'http://127.0.0.1:8080', transport: { type: 'smtp', url: 'smtp://x' } }),
      ),
    ).toHaveLength(1);
  });

  it('an engine created with them over SMTP warns once, naming them', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
    const engine = await createEngine(
      { database: sqliteUrl(), transport: { type: 'smtp', url: sink.url } },
      { logger },
    );
    await engine.close();
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      msg: expect.stringContaining('demo settings with the smtp transport'),
      problems: expect.arrayContaining([expect.stringMatching(/^secret:/)]),
    });
  });

  it('the worker refuses them over SMTP before anything is claimed, and sends once they are set', async () => {
    const base = {
      database: sqliteUrl(),
      sequencesDir: sequencesDir(),
      templatesDir: join(ROOT, 'templates'),
      transport: { type: 'smtp', url: sink.url, pool: 1 },
    };
    const engine = await createEngine({ ...base, transport: { type: 'memory' } } as never, {
      logger: pino({ level: 'silent' }),
    });
    try {
      await seedDue(engine, 3);
      const refused = runCliInProcess(['--config', writeConfig(base), 'worker', '--once', '--no-status']);
      await expect(refused).rejects.toThrow(ConfigError);
      await expect(refused).rejects.toThrow(
        /refusing to send over smtp to real recipients with demo settings:\n {2}secret: .*\n {2}sender\.from/,
      );
      expect(sink.accepted).toHaveLength(0);
      expect(await statusCounts(engine)).toEqual({});

      process.env.COMEBACK_LOG = 'silent';
      const { out } = await runCliInProcess([
        '--config',
        writeConfig({ ...base, ...ready }),
        'worker',
        '--until-idle',
        '--no-status',
      ]);
      expect(out).toContain('sent 3, retrying 0, failed 0, uncertain 0');
      expect(sink.accepted).toHaveLength(3);
    } finally {
      delete process.env.COMEBACK_LOG;
      await engine.close();
    }
  }, 60_000);
});
