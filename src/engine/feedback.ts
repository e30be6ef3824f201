/**
 * What the worker does with the numbers before each pass: the deliverability guard (pausing a
 * sequence that hurts the sender's reputation) and the variant optimiser's shares. Both read
 * aggregates, so they run on an engine-clock interval rather than on every pass.
 */
import { MINUTE } from '../clock.js';
import type { EngineContext } from './context.js';
import { park, pausedSequenceIds } from './sequence-state.js';
import type { VariantWeights } from './scheduler.js';
import { checkDeliverability, type GuardFinding } from './guard-run.js';
import { VariantOptimizer } from './optimizer.js';

/** How often the variant shares are recomputed (engine clock). */
export const OPTIMIZER_INTERVAL_MS = 10 * MINUTE;

/** The guard and the optimiser, refreshed on their intervals by `beforePass`. */
export class FeedbackLoop {
  private readonly optimizer: VariantOptimizer;
  private readonly levels = new Map<string, string>();
  private guardedAt = -Infinity;

  constructor(private readonly ctx: EngineContext) {
    this.optimizer = new VariantOptimizer(ctx, OPTIMIZER_INTERVAL_MS);
  }

  /** The scheduler's variant weights (Thompson shares). */
  get weights(): VariantWeights {
    return this.optimizer.weights;
  }

  /** Runs the guard and refreshes the shares when their interval has passed. */
  async beforePass(): Promise<void> {
    if (this.ctx.clock.now() - this.guardedAt >= this.ctx.config.guard.checkIntervalMinutes * MINUTE)
      await this.guard();
    try {
      await this.optimizer.refreshIfStale();
    } catch (err) {
      // Stale shares are harmless; a failed refresh must not stop sending.
      this.ctx.log.error({ err }, 'variant shares not refreshed; keeping the previous ones');
    }
  }

  /** Checks deliverability now (pausing what must pause) and parks the work of paused sequences. */
  async guard(): Promise<GuardFinding[]> {
    const findings = await checkDeliverability(this.ctx, this.levels);
    // Work another worker scheduled while the pause happened is parked too.
    for (const id of await pausedSequenceIds(this.ctx.k)) await park(this.ctx.k, id);
    this.guardedAt = this.ctx.clock.now();
    return findings;
  }

  /** Recomputes the variant shares now. */
  refreshShares(): Promise<void> {
    return this.optimizer.refresh();
  }
}
