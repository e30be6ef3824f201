/** Spaces sends out to at most a given number per second. */
export interface RateLimiter {
  /** Resolves when the next message may go. */
  take(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** No limit. */
export const unlimited: RateLimiter = { take: async () => {} };

/** In-process limiter (GCRA: each send reserves the next free slot of 1/rate seconds). */
export class LocalRateLimiter implements RateLimiter {
  private tat = 0;
  private readonly interval: number;
  constructor(perSecond: number) {
    this.interval = 1000 / perSecond;
  }
  async take(): Promise<void> {
    const now = performance.now();
    const at = Math.max(this.tat, now);
    this.tat = at + this.interval;
    if (at > now) await sleep(at - now);
  }
}

/** The part of an ioredis client the shared limiter uses. */
export interface RedisEval {
  eval(script: string, numKeys: number, ...args: (string | number)[]): Promise<unknown>;
}

// GCRA on the Redis clock: one key holds the theoretical arrival time (microseconds) of the next
// free slot; each call reserves a slot and returns how long to wait for it.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local interval = tonumber(ARGV[1])
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', math.ceil((tat + interval - now) / 1000) + 1000)
return tat - now`;

/** A limiter shared by every worker through one Redis key (BullMQ deployments). */
export class RedisRateLimiter implements RateLimiter {
  private readonly intervalUs: number;
  constructor(
    private readonly redis: RedisEval,
    private readonly key: string,
    perSecond: number,
  ) {
    this.intervalUs = Math.round(1_000_000 / perSecond);
  }
  async take(): Promise<void> {
    const waitUs = Number(await this.redis.eval(GCRA, 1, this.key, this.intervalUs));
    if (waitUs > 0) await sleep(waitUs / 1000);
  }
}
