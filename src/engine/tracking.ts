import { trackingHooks, type TrackingHooks } from '../tracking/sinks.js';
import type { TrackerDeps } from '../tracking/tracker.js';
import { webhookTypes } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';
import { recordEvent } from './events.js';

/**
 * What the tracker needs from the engine: the database, the token signer, the clock, the
 * human-or-machine rules, and `recordEvent` as the one door for events with consequences.
 */
export function trackerDeps(ctx: EngineContext): TrackerDeps {
  return {
    k: ctx.k,
    signer: ctx.signer,
    clock: ctx.clock,
    rules: ctx.config.tracking,
    record: (e) => recordEvent(ctx, e),
  };
}

/** The tracking events the configured webhook endpoints receive, written with the events (outbox). */
export function trackingHooksFor(ctx: EngineContext): TrackingHooks {
  return trackingHooks(webhookTypes(ctx.config));
}
