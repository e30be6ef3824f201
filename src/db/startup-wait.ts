import type { Logger } from 'pino';
import { ConfigError } from '../errors.js';
import { isConnectionError, type Outage } from './outage.js';

/** The first wait after a failed attempt, and the cap the doubling stops at. */
export const FIRST_RETRY_MS = 1_000;
export const MAX_RETRY_MS = 30_000;

/** Milliseconds to wait before attempt `attempt + 1` (1 s, 2 s, 4 s ... capped at 30 s). */
export function retryDelayMs(attempt: number): number {
  return Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, attempt - 1));
}

/** A dependency a process waits for at start. */
export interface StartupTarget {
  /** What it is, as logged ("database", "Redis"). */
  name: string;
  /** `host:port`, as logged (never the password). */
  where: string;
  /** Connects once and returns, or throws what the client threw. */
  probe(): Promise<void>;
}

/** How long and how loudly to wait. */
export interface StartupWaitOptions {
  /** Give up after this long (0: one attempt, fail at once). */
  giveUpMs: number;
  log?: Logger;
  /** Kept current while waiting, for a health endpoint that answers "starting". */
  outage?: Outage;
  /** The setting that changes the give-up time, named in the final error. */
  setting?: string;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `target` answers, retrying with capped exponential backoff while it is unreachable
 * (refused, reset, unknown host, starting up) and logging each retry. Anything else (a wrong
 * password, an unknown database) is a configuration mistake that waiting cannot fix: it fails at
 * once, with the client's reason.
 */
export async function waitUntilReachable(target: StartupTarget, options: StartupWaitOptions): Promise<void> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const start = now();
  for (let attempt = 1; ; attempt++) {
    try {
      await target.probe();
      options.outage?.ok();
      if (attempt > 1)
        options.log?.warn(
          { dependency: target.name, where: target.where, attempts: attempt },
          `${target.name} reachable at ${target.where} after ${attempt} attempts; starting`,
        );
      return;
    } catch (err) {
      const reason = (err as Error).message || String((err as { code?: string }).code ?? err);
      if (!isConnectionError(err))
        throw new ConfigError(`cannot connect to the ${target.name} at ${target.where}: ${reason}`);
      options.outage?.failed(err);
      const waited = now() - start;
      const delay = Math.min(retryDelayMs(attempt), Math.max(0, options.giveUpMs - waited));
      if (delay <= 0) {
        const setting = options.setting ? ` (${options.setting})` : '';
        throw new ConfigError(
          `${target.name} unreachable at ${target.where} (${reason}); gave up after ${Math.round(waited / 1000)} s${setting}`,
        );
      }
      options.log?.warn(
        { alert: 'dependency_starting', dependency: target.name, where: target.where, err: reason, attempt },
        `${target.name} unreachable at ${target.where}, retrying in ${Math.ceil(delay / 1000)}s (${reason})`,
      );
      await sleep(delay);
    }
  }
}

/**
 * The start-up target of a PostgreSQL URL: one connection that runs `select 1`. A malformed URL
 * fails here, before any attempt.
 */
export async function postgresTarget(url: string): Promise<StartupTarget> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('config.database: not a valid postgres:// URL (postgres://user:pass@host:port/db)');
  }
  parsed.searchParams.delete('schema');
  const pg = (await import('pg')).default;
  return {
    name: 'database',
    where: `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}`,
    async probe() {
      const client = new pg.Client({ connectionString: parsed.toString(), connectionTimeoutMillis: 10_000 });
      // A connection lost while probing is reported by connect() or query(); unheard it would end the process.
      client.on('error', () => {});
      try {
        await client.connect();
        await client.query('select 1');
      } finally {
        await client.end().catch(() => {});
      }
    },
  };
}
