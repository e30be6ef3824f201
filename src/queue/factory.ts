import type { Logger } from 'pino';
import type { EngineConfig } from '../config/schema.js';
import { RedisRateLimiter, type RateLimiter } from '../delivery/rate-limit.js';
import { EmbeddedBackend } from './embedded.js';
import type { JobBackend } from './types.js';

/** The configured job backend: BullMQ when `redisUrl` is set, else the embedded one. */
export async function createBackend(config: EngineConfig, log: Logger): Promise<JobBackend> {
  if (!config.redisUrl) return new EmbeddedBackend(config.worker.concurrency);
  const { BullmqBackend } = await import('./bullmq.js');
  return new BullmqBackend({ url: config.redisUrl, queueName: config.worker.queueName, concurrency: config.worker.concurrency, lockMs: config.worker.jobLockMs, log });
}

/**
 * The transport's rate limit shared by every worker through the BullMQ backend's Redis, or
 * undefined (no limit configured, or no Redis: the sender then limits per process).
 */
export function sharedRateLimiter(backend: JobBackend, config: EngineConfig, transportName: string): RateLimiter | undefined {
  const rate = config.transport.rateLimit;
  const redis = (backend as { redis?: ConstructorParameters<typeof RedisRateLimiter>[0] }).redis;
  if (!rate || !redis) return undefined;
  return new RedisRateLimiter(redis, `${config.worker.queueName}:rate:${transportName}`, rate);
}
