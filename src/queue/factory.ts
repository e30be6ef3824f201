import type { Logger } from 'pino';
import type { EngineConfig } from '../config/schema.js';
import { EmbeddedBackend } from './embedded.js';
import type { JobBackend } from './types.js';

/** The configured job backend: BullMQ when `redisUrl` is set, else the embedded one. */
export async function createBackend(config: EngineConfig, log: Logger): Promise<JobBackend> {
  if (!config.redisUrl) return new EmbeddedBackend(config.worker.concurrency);
  const { BullmqBackend } = await import('./bullmq.js');
  return new BullmqBackend({
    url: config.redisUrl,
    queueName: config.worker.queueName,
    concurrency: config.worker.concurrency,
    lockMs: config.worker.jobLockMs,
    log,
  });
}
