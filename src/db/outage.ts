import type { Logger } from 'pino';

/** PostgreSQL SQLSTATE classes and codes that mean "the server is gone or restarting", not "the query is wrong". */
const PG_DOWN = /^(08|57P0[1-3]$|53300$)/;
/** Node socket errors of a lost or refused connection. */
const NET_DOWN = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
/** What pg and ioredis say when a connection ends under a query, in their own words. */
const DOWN_TEXT =
  /Connection terminated|connection error and is not queryable|timeout exceeded when trying to connect|Connection is closed|terminating connection|the database system is (starting up|shutting down|in recovery mode)/i;

/**
 * True when `err` says the connection to a database or Redis was lost or refused: an outage that
 * ends by itself, as opposed to a bad query or bad data.
 */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown; cause?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : '';
  if (PG_DOWN.test(code) || NET_DOWN.has(code)) return true;
  if (typeof e.message === 'string' && DOWN_TEXT.test(e.message)) return true;
  return e.cause !== undefined && e.cause !== err && isConnectionError(e.cause);
}

/** A dependency that is down: since when and why. */
export interface OutageState {
  since: number;
  reason: string;
}

/**
 * The health of one dependency (the database, Redis) as a long-running process sees it. An outage
 * begins at the first connection error and ends at the next success; each end is logged once, so
 * a database restart is two log lines, not one per query. Nothing here retries: the callers keep
 * doing their work on their own schedule, and it succeeds again when the dependency is back.
 */
export class Outage {
  private state: OutageState | null = null;
  /** Outages seen so far (for status lines and tests). */
  count = 0;

  /**
   * @param name what is down, as logged ("database", "Redis")
   * @param log where the two lines go; none for one-shot commands, whose errors propagate anyway
   */
  constructor(
    readonly name: string,
    public log?: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Reports an error. A connection error begins an outage (logged once) and returns true; any
   * other error returns false and is the caller's to report.
   */
  failed(err: unknown): boolean {
    if (!isConnectionError(err)) return false;
    if (!this.state) {
      const reason = (err as Error).message || String((err as { code?: string }).code ?? err);
      this.state = { since: this.now(), reason };
      this.count++;
      this.log?.error(
        { alert: 'dependency_down', dependency: this.name, err: reason },
        `${this.name} unavailable (${reason}); work pauses and resumes by itself when it is back`,
      );
    }
    return true;
  }

  /** Reports a success: ends an outage (logged once, with its length). */
  ok(): void {
    if (!this.state) return;
    const seconds = Number(((this.now() - this.state.since) / 1000).toFixed(1));
    this.log?.warn(
      { alert: 'dependency_back', dependency: this.name, downSeconds: seconds },
      `${this.name} available again after ${seconds} s; work resumed`,
    );
    this.state = null;
  }

  /** The current outage, or null while the dependency answers. */
  get down(): OutageState | null {
    return this.state;
  }
}
