import type { JobBackend } from '../queue/types.js';
import type { EngineContext } from './context.js';
import { dueMessageIds, sweep } from './ledger.js';
import type { SendPipeline } from './pipeline.js';
import { scheduleBatch, type ScheduleResult, type VariantWeights } from './scheduler.js';

/** What one `runDue()` pass did. */
export interface PassResult extends ScheduleResult {
  /** Message ids handed to the job backend (embedded: handled). */
  dispatched: number;
  /** Messages found left in `sending` by a stopped worker, now `uncertain`. */
  uncertain: number;
  /** Claims of a stopped worker that never reached the provider, released to be sent again. */
  released: number;
  /** True when the transport is paused (policy block) and nothing was dispatched. */
  paused: boolean;
}

/**
 * One pass of the worker: recover what stopped workers left behind, schedule every due
 * enrolment in batches (each batch one transaction), then hand every due reserved message to the
 * job backend: an inline backend sends them before this returns; a queue gets each id once, and
 * again only after `worker.redispatchAfterMs` if it has still not been sent (the queue lost it),
 * and no more than fill it to `worker.maxQueued` jobs.
 */
export async function runPass(
  ctx: EngineContext,
  backend: JobBackend,
  sending: Pick<SendPipeline, 'pausedUntil'>,
  weights?: VariantWeights,
): Promise<PassResult> {
  const total: PassResult = {
    processed: 0,
    reserved: 0,
    skipped: 0,
    deferred: 0,
    completed: 0,
    exited: 0,
    goalsReached: [],
    dispatched: 0,
    uncertain: 0,
    released: 0,
    paused: false,
  };
  const swept = await sweep(ctx);
  total.uncertain = swept.uncertain;
  total.released = swept.released;
  const batch = ctx.config.worker.batchSize;
  for (;;) {
    const r = await scheduleBatch(ctx, weights);
    for (const key of ['processed', 'reserved', 'skipped', 'deferred', 'completed', 'exited'] as const)
      total[key] += r[key];
    total.goalsReached.push(...r.goalsReached);
    if (r.processed < batch) break;
  }
  let previous = '';
  for (;;) {
    if (await sending.pausedUntil()) {
      total.paused = true;
      break;
    }
    // A queue holds at most `maxQueued` jobs: a large backlog goes over in later passes, not into Redis at once.
    const room =
      backend.runsInline || !backend.pending
        ? batch
        : Math.min(batch, ctx.config.worker.maxQueued - (await backend.pending()));
    if (room <= 0) break;
    const ids = await dueMessageIds(ctx, room, backend.runsInline ? undefined : ctx.config.worker.redispatchAfterMs);
    const key = ids.join(',');
    if (ids.length === 0 || key === previous) break; // nothing due, or nothing claimable moved
    previous = key;
    await backend.dispatch(ids);
    total.dispatched += ids.length;
    if (ids.length < room) break;
  }
  if (!total.paused && (await sending.pausedUntil())) total.paused = true; // paused during this pass
  return total;
}
