import type { Outage } from '../db/outage.js';
import type { RateLimiter } from '../delivery/rate-limit.js';

/** Handles one send job: the job id is the message id. */
export type JobHandler = (messageId: number) => Promise<unknown>;

/**
 * Dispatches send jobs. The schedule lives in the database; a backend only moves message ids to
 * workers, so losing it loses no plan. The database ledger, not the backend, prevents duplicates:
 * a handler claims its message with a conditional update, so a job delivered twice sends once.
 */
export interface JobBackend {
  readonly name: string;
  /** True when `dispatch` runs the jobs before it resolves (embedded); false for a queue. */
  readonly runsInline: boolean;
  /** Hands message ids to the workers; resolves when they are accepted (inline: when handled). */
  dispatch(messageIds: number[]): Promise<void>;
  /** Starts consuming jobs with the handler. */
  start(handler: JobHandler): Promise<void>;
  /** Jobs handed over but not finished, as far as this process knows (for status lines). */
  pending?(): Promise<number>;
  /** The queue's own server (Redis), when it has one: its outages, logged once each. */
  readonly outage?: Outage;
  /**
   * A rate limiter shared by every worker on this backend (`name` is unique per limited thing,
   * e.g. `rate:smtp`), when the backend has a shared server to keep it in; absent otherwise
   * (each process then limits itself).
   */
  rateLimiter?(name: string, perSecond: number): RateLimiter;
  /** Stops taking jobs and waits for the ones in flight. */
  stop(): Promise<void>;
}
