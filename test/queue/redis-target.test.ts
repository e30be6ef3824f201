/** The start-up probe of Redis: a refused port is an outage to wait out, a malformed URL is not. */
import { expect, it } from 'vitest';
import { isConnectionError } from '../../src/db/outage.js';
import { redisTarget } from '../../src/queue/redis-target.js';
import { REDIS_URL } from '../helpers/backends.js';
import { freePort } from '../helpers/net.js';

it('answers for the test Redis, is unreachable on a closed port, refuses a malformed URL', async () => {
  await redisTarget(REDIS_URL).probe();
  const port = await freePort();
  const closed = redisTarget(`redis://127.0.0.1:${port}`);
  expect(closed.where).toBe(`127.0.0.1:${port}`);
  const err = await closed.probe().then(
    () => null,
    (e: unknown) => e,
  );
  expect(isConnectionError(err)).toBe(true);
  expect(String(err)).toMatch(/ECONNREFUSED/);
  expect(() => redisTarget('not a url')).toThrow('config.redisUrl: not a valid redis:// URL');
  expect(() => redisTarget('http://cache:6379')).toThrow('config.redisUrl: expected redis:// or rediss://');
});
