import type { Logger } from 'pino';
import { parseConfig, type EngineConfigInput } from '../config/index.js';
import { isPostgresUrl, Outage } from '../db/index.js';
import { postgresTarget, waitUntilReachable } from '../db/startup-wait.js';
import { redisTarget } from '../queue/redis-target.js';

/**
 * What a health endpoint shows of a process: while `starting`, the dependencies it still waits
 * for; afterwards, the running engine's outages. Shared by reference with the endpoint.
 */
export interface HealthState {
  starting: boolean;
  outages: Outage[];
}

/** How a service waits at start. */
export interface WaitForServicesOptions {
  log?: Logger;
  /** Whether the process consumes send jobs (only then is Redis waited for). */
  jobs?: boolean;
  /** Overrides `startupWaitSeconds` (the `--startup-wait` flag). */
  giveUpSeconds?: number;
  /** Filled with one outage per dependency while waiting, for the health endpoint. */
  health?: HealthState;
}

/**
 * Waits, before the engine is built, until the PostgreSQL database (and Redis, for a process that
 * consumes BullMQ send jobs) answers: a service started before its database (a reboot, a container
 * started first) comes up when it does, instead of failing. A SQLite file needs no wait. The
 * configuration is checked first, so a mistake in it fails at once, as does a wrong password or
 * an unknown database; only an unreachable server is waited for, up to `startupWaitSeconds`.
 */
export async function waitForServices(input: EngineConfigInput, options: WaitForServicesOptions = {}): Promise<void> {
  const config = parseConfig(input);
  const giveUpMs = (options.giveUpSeconds ?? config.startupWaitSeconds) * 1000;
  const setting = options.giveUpSeconds === undefined ? 'startupWaitSeconds in the config' : 'the --startup-wait flag';
  const targets = [
    ...(isPostgresUrl(config.database) ? [await postgresTarget(config.database)] : []),
    ...(config.redisUrl && options.jobs ? [redisTarget(config.redisUrl)] : []),
  ];
  const start = Date.now();
  for (const target of targets) {
    const outage = new Outage(target.name);
    options.health?.outages.push(outage);
    const left = Math.max(0, giveUpMs - (Date.now() - start));
    await waitUntilReachable(target, { giveUpMs: left, log: options.log, outage, setting });
  }
}
