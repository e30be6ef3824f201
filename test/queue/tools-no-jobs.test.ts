/**
 * With BullMQ configured, only `comeback worker` takes send jobs: every other command and the
 * tracking server run without a job backend, so they send no mail as a side effect and do not
 * wait for Redis.
 */
import { createServer } from 'node:net';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createEngine } from '../../src/app.js';
import { ConfigError } from '../../src/errors.js';
import { REDIS_URL, sqliteUrl } from '../helpers/backends.js';
import { runCliInProcess } from '../helpers/cli.js';
import { sequencesDir, writeConfig } from '../worker/fixture.js';

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('processes that do not send', () => {
  it('comeback stats finishes with Redis down: it opens no queue', async () => {
    const file = writeConfig({
      database: sqliteUrl(),
      sequencesDir: sequencesDir(),
      redisUrl: `redis://127.0.0.1:${await closedPort()}`,
    });
    const { out } = await runCliInProcess(['--config', file, 'stats']);
    expect(out).toContain('blast');
  }, 15_000);

  it('an engine created with jobs: false has no backend, even with Redis configured, and refuses to dispatch', async () => {
    const engine = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir(), redisUrl: REDIS_URL },
      { jobs: false, logger: pino({ level: 'silent' }) },
    );
    try {
      expect(engine.backend.name).toBe('none');
      await expect(engine.backend.dispatch([1])).rejects.toThrow(ConfigError);
    } finally {
      await engine.close();
    }
    const worker = await createEngine(
      { database: sqliteUrl(), sequencesDir: sequencesDir(), redisUrl: REDIS_URL },
      { logger: pino({ level: 'silent' }) },
    );
    try {
      expect(worker.backend.name).toBe('bullmq');
    } finally {
      await worker.close();
    }
  });
});
