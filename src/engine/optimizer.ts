/**
 * Variant optimisation in the loop: Thompson-sampling shares per step, recomputed from the
 * database now and then (not per message) and handed to the scheduler as `VariantWeights`.
 * Each sequence optimises its own metric (`optimize:` conversion or net_revenue).
 */
import { sequencePaths } from '../sequences/paths.js';
import type { EngineContext } from './context.js';
import type { VariantWeights } from './scheduler.js';
import { armRows, optimizeMetric, stepAllocation, stepArms, stepOptions, variantSteps } from '../metrics/variants.js';

/** Holds the current shares and refreshes them when they are older than `refreshMs` (engine clock). */
export class VariantOptimizer {
  private shares = new Map<string, Map<string | null, number>>();
  /** The arms each step's shares were computed from: unchanged data gives the same (seeded) shares. */
  private inputs = new Map<string, string>();
  private refreshedAt = -Infinity;

  constructor(
    private readonly ctx: EngineContext,
    /** How often the shares are recomputed, in engine-clock milliseconds. */
    readonly refreshMs: number,
  ) {}

  /** The weights callback for the scheduler: the last computed shares, or equal shares before any. */
  readonly weights: VariantWeights = (sequenceId, stepId) => this.shares.get(`${sequenceId}\u0000${stepId}`);

  /** Recomputes the shares when they are stale; returns true when it did. */
  async refreshIfStale(): Promise<boolean> {
    if (this.ctx.clock.now() - this.refreshedAt < this.refreshMs) return false;
    await this.refresh();
    return true;
  }

  /** Recomputes every step's shares from all sends and conversions so far (one grouped query). */
  async refresh(): Promise<void> {
    const rows = await armRows(
      this.ctx.k,
      variantSteps(this.ctx.sequences.ids().map((id) => this.ctx.sequences.get(id))),
    );
    const next = new Map<string, Map<string | null, number>>();
    for (const id of this.ctx.sequences.ids()) {
      const seq = this.ctx.sequences.get(id);
      for (const step of sequencePaths(seq).steps) {
        const options = stepOptions(step);
        if (options.length < 2) continue;
        const key = `${id}\u0000${step.id}`;
        const arms = stepArms(id, step.id, options, rows, optimizeMetric(seq));
        const input = JSON.stringify(arms);
        const known = this.shares.get(key);
        if (known && this.inputs.get(key) === input) {
          next.set(key, known);
          continue;
        }
        const allocation = stepAllocation(id, step.id, arms, this.ctx.config.guard.minExplorationShare);
        next.set(key, new Map(options.map((v, i) => [v, allocation[i]!.share])));
        this.inputs.set(key, input);
      }
    }
    this.shares = next;
    this.refreshedAt = this.ctx.clock.now();
    if (next.size) this.ctx.log.debug({ steps: next.size }, 'variant shares refreshed');
  }
}
