/**
 * Waiting at start for a database that is not up yet: capped exponential backoff, one log line
 * per retry, a give-up after the configured time, and no waiting at all for a mistake in the
 * configuration (a wrong password, an unknown database, a malformed URL).
 */
import pino from 'pino';
import { Writable } from 'node:stream';
import { expect, it } from 'vitest';
import { Outage } from '../../src/db/outage.js';
import { postgresTarget, retryDelayMs, waitUntilReachable } from '../../src/db/startup-wait.js';
import { ConfigError } from '../../src/errors.js';
import { freePort } from '../helpers/net.js';
import { PG_URL } from '../helpers/backends.js';

const refused = Object.assign(new Error('connect ECONNREFUSED 10.0.0.5:5432'), { code: 'ECONNREFUSED' });

/** A logger whose messages are collected, and a clock that only the fake sleep moves. */
function harness() {
  const messages: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      messages.push((JSON.parse(chunk.toString()) as { msg: string }).msg);
      done();
    },
  });
  let t = 0;
  const slept: number[] = [];
  return {
    messages,
    slept,
    log: pino({ level: 'info' }, stream),
    now: () => t,
    sleep: async (ms: number) => void (slept.push(ms), (t += ms)),
  };
}

it('doubles the wait from 1 s up to 30 s', () => {
  expect([1, 2, 3, 4, 5, 6, 7, 20].map(retryDelayMs)).toEqual([1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

it('retries an unreachable server, logging each retry, until it answers', async () => {
  const h = harness();
  const outage = new Outage('database');
  let calls = 0;
  const seen: (string | undefined)[] = [];
  await waitUntilReachable(
    {
      name: 'database',
      where: '10.0.0.5:5432',
      probe: async () => {
        seen.push(outage.down?.reason);
        if (++calls < 5) throw refused;
      },
    },
    { giveUpMs: 300_000, log: h.log, outage, now: h.now, sleep: h.sleep },
  );
  expect(h.slept).toEqual([1000, 2000, 4000, 8000]);
  expect(h.messages.slice(0, 4)).toEqual(
    [1, 2, 4, 8].map((s) => `database unreachable at 10.0.0.5:5432, retrying in ${s}s (${refused.message})`),
  );
  expect(h.messages[4]).toBe('database reachable at 10.0.0.5:5432 after 5 attempts; starting');
  // The health endpoint saw the outage while waiting, and sees none once the server answered.
  expect(seen.slice(1)).toEqual([refused.message, refused.message, refused.message, refused.message]);
  expect(outage.down).toBeNull();
});

it('gives up after the configured time, naming the setting', async () => {
  const h = harness();
  const attempt = waitUntilReachable(
    {
      name: 'database',
      where: '10.0.0.5:5432',
      probe: () => Promise.reject(refused),
    },
    { giveUpMs: 20_000, log: h.log, setting: 'startupWaitSeconds in the config', now: h.now, sleep: h.sleep },
  );
  await expect(attempt).rejects.toThrow(
    'database unreachable at 10.0.0.5:5432 (connect ECONNREFUSED 10.0.0.5:5432); gave up after 20 s (startupWaitSeconds in the config)',
  );
  // 1 + 2 + 4 + 8 = 15 s, then the 5 s left, then no time is left.
  expect(h.slept).toEqual([1000, 2000, 4000, 8000, 5000]);
  await expect(
    waitUntilReachable(
      { name: 'database', where: 'x:1', probe: () => Promise.reject(refused) },
      { giveUpMs: 0, now: h.now, sleep: h.sleep },
    ),
  ).rejects.toBeInstanceOf(ConfigError);
});

it('fails at once on an error that waiting cannot fix', async () => {
  const h = harness();
  const wrongPassword = Object.assign(new Error('password authentication failed for user "shop"'), {
    code: '28P01',
  });
  await expect(
    waitUntilReachable(
      { name: 'database', where: 'db:5432', probe: () => Promise.reject(wrongPassword) },
      { giveUpMs: 300_000, log: h.log, now: h.now, sleep: h.sleep },
    ),
  ).rejects.toThrow('cannot connect to the database at db:5432: password authentication failed for user "shop"');
  expect(h.slept).toEqual([]);
  await expect(postgresTarget('postgres://[broken')).rejects.toThrow('config.database: not a valid postgres:// URL');
});

it('probes a real server: unknown database fails, a closed port is unreachable, the test server answers', async () => {
  const h = harness();
  const unknown = new URL(PG_URL);
  unknown.pathname = '/comeback_no_such_database';
  const once = { giveUpMs: 300_000, log: h.log, now: h.now, sleep: h.sleep };
  await expect(waitUntilReachable(await postgresTarget(unknown.toString()), once)).rejects.toThrow(
    /cannot connect to the database at .*: database "comeback_no_such_database" does not exist/,
  );
  const closed = await postgresTarget(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`);
  await expect(waitUntilReachable(closed, { ...once, giveUpMs: 3000 })).rejects.toThrow(
    /unreachable .*gave up after 3 s/,
  );
  expect(h.slept).toEqual([1000, 2000]);
  await waitUntilReachable(await postgresTarget(`${PG_URL}?schema=whatever`), once);
});
