/**
 * The deliverability guard in the worker loop: judges every sequence's rolling complaint and
 * hard-bounce rates (per sequence and per sender) and pauses a sequence over a pause threshold,
 * saying why. Warnings are logged once per change of level, not on every pass.
 */
import type { EngineContext } from './context.js';
import { guardSince, pauseSequence } from './sequence-state.js';
import { deliverabilityReport, deliveryRows, windowStart } from '../metrics/deliverability.js';
import type { DeliverabilityReport } from '../metrics/types.js';

/** What the guard found for one sequence. */
export interface GuardFinding {
  sequenceId: string;
  level: DeliverabilityReport['level'];
  reasons: string[];
  /** True when this check paused the sequence. */
  paused: boolean;
}

/** Checks every sequence with recent sends; pauses those at `pause`. `lastLevels` remembers what was logged. */
export async function checkDeliverability(
  ctx: EngineContext,
  lastLevels: Map<string, string> = new Map(),
): Promise<GuardFinding[]> {
  const now = ctx.clock.now();
  const guard = ctx.config.guard;
  const rows = await deliveryRows(ctx.k, windowStart(now, guard));
  const since = await guardSince(ctx.k);
  const findings: GuardFinding[] = [];
  for (const id of [...new Set(rows.map((r) => r.sequenceId))].sort()) {
    const report = deliverabilityReport(id, rows, Math.max(windowStart(now, guard), since.get(id) ?? 0), guard);
    let paused = false;
    if (report.level === 'pause') {
      const reason = `deliverability guard: ${report.reasons.join('; ')}`;
      paused = await pauseSequence(ctx, id, reason);
      if (paused)
        ctx.log.error(
          { alert: 'sequence_paused', sequence: id, reasons: report.reasons },
          `ALERT: sequence ${id} paused itself: ${report.reasons.join('; ')}. Fix the cause, then run: comeback resume ${id}`,
        );
    } else if (report.level === 'warn' && lastLevels.get(id) !== 'warn') {
      ctx.log.warn(
        { alert: 'deliverability_warning', sequence: id, reasons: report.reasons },
        `deliverability warning for ${id}: ${report.reasons.join('; ')}`,
      );
    }
    lastLevels.set(id, report.level);
    findings.push({ sequenceId: id, level: report.level, reasons: report.reasons, paused });
  }
  return findings;
}
