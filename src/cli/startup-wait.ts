import { ConfigError } from '../errors.js';

/** The help of `--startup-wait`, shared by `comeback worker` and `comeback serve`. */
export const STARTUP_WAIT_HELP =
  'how long to wait at start for an unreachable PostgreSQL (and Redis) before giving up, 0: fail at once (default: config startupWaitSeconds, 300)';

/** Parses `--startup-wait` (whole seconds, 0–86400); undefined when not given. */
export function parseStartupWait(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 86_400)
    throw new ConfigError(`--startup-wait: expected whole seconds 0-86400, got "${value}"`);
  return n;
}
