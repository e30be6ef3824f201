/**
 * `comeback/testing`: what tests of code that embeds Comeback need. A manual clock to move time by
 * hand, a transport that keeps mails in memory, and `engineContext` for tests that inspect the
 * engine's internals (the database, the signer); that part is not a stable API.
 * @packageDocumentation
 */
import type { EngineContext } from './engine/context.js';
import type { Engine } from './engine/engine.js';

export { ManualClock } from './clock.js';
export { MemoryTransport } from './delivery/memory.js';
export type { EngineContext } from './engine/context.js';

/** The engine's internal parts (kysely, signer, config …): for tests only, may change in any release. */
export function engineContext(engine: Engine): EngineContext {
  return engine.ctx;
}
