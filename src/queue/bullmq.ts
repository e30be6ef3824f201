import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { Outage } from '../db/outage.js';
import { RedisRateLimiter, type RateLimiter } from '../delivery/rate-limit.js';
import type { JobBackend, JobHandler } from './types.js';

/** How the BullMQ backend connects and consumes. */
export interface BullmqOptions {
  /** `redis://host:port/db` */
  url: string;
  /** Queue name; also the Redis key prefix, so installations sharing a Redis stay apart. */
  queueName: string;
  /** Jobs this process works on at once. */
  concurrency: number;
  /** A job's lock (renewed while it runs) and the interval of the stall check that frees a dead worker's jobs. */
  lockMs?: number;
  log: Logger;
}

/** The BullMQ job id of a message: `m<id>` (BullMQ refuses integer ids). */
export const jobIdOf = (messageId: number) => `m${messageId}`;

/**
 * Warnings about a Redis that may lose jobs: without AOF a restart drops queued jobs, and with an
 * eviction policy other than `noeviction` Redis may delete them under memory pressure. Neither
 * loses a mail (the database holds the plan, lost jobs are dispatched again after
 * `worker.redispatchAfterMs`), but sending is delayed.
 */
export async function redisDurabilityWarnings(redis: Redis): Promise<string[]> {
  const warnings: string[] = [];
  try {
    const aof = (await redis.config('GET', 'appendonly')) as string[];
    const policy = (await redis.config('GET', 'maxmemory-policy')) as string[];
    if (aof[1] !== 'yes')
      warnings.push(
        'Redis runs without AOF (appendonly no): a restart loses queued send jobs; they are dispatched again after worker.redispatchAfterMs. Run Redis with --appendonly yes.',
      );
    if (policy[1] !== 'noeviction')
      warnings.push(
        `Redis maxmemory-policy is ${policy[1]}: it may evict queued send jobs under memory pressure. Set maxmemory-policy noeviction.`,
      );
  } catch (err) {
    warnings.push(
      `cannot read the Redis configuration (${(err as Error).message}); make sure it runs with appendonly yes and maxmemory-policy noeviction`,
    );
  }
  return warnings;
}

/**
 * Send jobs on BullMQ: any number of worker processes on any number of machines consume one queue.
 * The job id is the message id, so a message handed over twice while queued is one job; a job
 * delivered twice (a stalled worker, a Redis failover) finds its message claimed and does nothing.
 */
export class BullmqBackend implements JobBackend {
  readonly name = 'bullmq';
  readonly runsInline = false;
  /** The connection, shared with the Redis rate limiter. */
  private readonly redis: Redis;
  private readonly queue: Queue;
  private worker: Worker | undefined;
  /** Redis outages: ioredis reconnects by itself; each outage is logged when it begins and ends. */
  readonly outage: Outage;
  private stopping = false;
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: BullmqOptions) {
    this.outage = new Outage('Redis', options.log);
    this.redis = new Redis(options.url, { maxRetriesPerRequest: null, lazyConnect: false });
    this.redis.on('error', (err) => this.logError(err, 'redis connection'));
    this.redis.on('ready', () => this.outage.ok());
    this.queue = new Queue(options.queueName, { connection: this.redis, prefix: options.queueName });
    this.queue.on('error', (err) => this.logError(err, 'queue'));
  }

  private logError(err: Error, where: string): void {
    if (this.outage.failed(err) || this.outage.down) return; // logged when the outage began
    this.options.log.warn({ err: err.message, where }, 'Redis error');
  }

  async dispatch(messageIds: number[]): Promise<void> {
    if (messageIds.length === 0 || this.stopping) return; // stopping: the next worker dispatches them

    await this.queue.addBulk(
      messageIds.map((id) => ({
        name: 'send',
        data: { id },
        opts: { jobId: jobIdOf(id), removeOnComplete: true, removeOnFail: true },
      })),
    );
  }

  async start(handler: JobHandler): Promise<void> {
    for (const w of await redisDurabilityWarnings(this.redis)) this.options.log.warn(w);
    this.worker = new Worker(
      this.options.queueName,
      async (job) => {
        await handler(Number((job.data as { id: number }).id));
      },
      {
        connection: this.redis,
        prefix: this.options.queueName,
        concurrency: this.options.concurrency,
        ...(this.options.lockMs ? { lockDuration: this.options.lockMs, stalledInterval: this.options.lockMs } : {}),
      },
    );
    this.worker.on('error', (err) => this.logError(err, 'worker'));
  }

  /** The transport's rate, shared by every worker through one Redis key under the queue's prefix. */
  rateLimiter(name: string, perSecond: number): RateLimiter {
    return new RedisRateLimiter(this.redis, `${this.options.queueName}:${name}`, perSecond);
  }

  /** Waiting, delayed and active jobs in the queue (all workers). */
  async pending(): Promise<number> {
    const c = await this.queue.getJobCounts('waiting', 'delayed', 'active');
    return Object.values(c).reduce((a, b) => a + b, 0);
  }

  /** Stops consuming (active jobs finish), then closes the queue and the connection. Idempotent. */
  stop(): Promise<void> {
    this.stopping = true;
    this.stopped ??= (async () => {
      await this.worker?.close();
      this.worker = undefined;
      await this.queue.close();
      if (this.redis.status !== 'end') await this.redis.quit().catch(() => this.redis.disconnect());
    })();
    return this.stopped;
  }

  /** Removes the queue's jobs and keys (tests, or retiring an installation). */
  async obliterate(): Promise<void> {
    await this.queue.obliterate({ force: true });
  }
}
