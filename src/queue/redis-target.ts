import type { StartupTarget } from '../db/startup-wait.js';
import { ConfigError } from '../errors.js';

/**
 * The start-up target of a Redis URL: one connection that answers PING. A malformed URL fails
 * here, before any attempt; a refused connection is retried by the caller, a wrong password is not.
 */
export function redisTarget(url: string): StartupTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('config.redisUrl: not a valid redis:// URL (redis://[:password@]host:port[/db])');
  }
  if (!/^rediss?:$/.test(parsed.protocol))
    throw new ConfigError(`config.redisUrl: expected redis:// or rediss://, got "${parsed.protocol}//"`);
  return {
    name: 'Redis',
    where: `${parsed.hostname || 'localhost'}:${parsed.port || '6379'}`,
    async probe() {
      // Loaded on the first probe, as `pg` is for PostgreSQL: only a process that waits pays for it.
      const { Redis } = await import('ioredis');
      // One attempt, no reconnects and no offline queue: the caller decides when to try again.
      const redis = new Redis(url, {
        lazyConnect: true,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => null,
        connectTimeout: 10_000,
      });
      // The socket's own error (ECONNREFUSED ...) says more than connect()'s "Connection is closed".
      let cause: Error | undefined;
      redis.on('error', (err: Error) => void (cause ??= err));
      try {
        await redis.connect();
        await redis.ping();
      } catch (err) {
        throw cause ?? err;
      } finally {
        redis.disconnect();
      }
    },
  };
}
