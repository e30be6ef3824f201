import { sql } from 'kysely';
import type { EngineContext } from '../engine/context.js';

/** Sends of one variant of a step per week: how the variant bandit shifted traffic over time. */
export interface VariantTimeline {
  sequenceId: string;
  stepId: string;
  /** Start of each week (ISO date), oldest first. */
  weeks: string[];
  /** Sends per week for each variant label (`control` for the step's own content). */
  sends: Record<string, number[]>;
}

const WEEK = 7 * 86_400_000;
// Inlined, not a parameter: PostgreSQL only matches the GROUP BY expression to the selected one when both are the same text.
const WEEK_OF = sql.raw(`messages.sent_at / ${WEEK}`);

/**
 * Weekly sends per variant for the steps that have variants. Not part of the stats report (it
 * is a time series only the dashboard draws); counts messages sent to enrolments from `since` on.
 */
export async function variantTimelines(
  ctx: EngineContext,
  steps: { sequenceId: string; stepId: string }[],
  since?: number,
): Promise<VariantTimeline[]> {
  if (steps.length === 0) return [];
  const sequenceIds = [...new Set(steps.map((s) => s.sequenceId))];
  let q = ctx.k
    .selectFrom('messages')
    .innerJoin('enrollments', 'enrollments.id', 'messages.enrollment_id')
    .select([
      'messages.sequence_id',
      'messages.step_id',
      'messages.variant_id',
      // Integer division buckets by week on SQLite and PostgreSQL alike (sent_at is epoch ms).
      sql<number>`${WEEK_OF}`.as('week'),
      sql<number>`count(*)`.as('n'),
    ])
    .where('messages.status', '=', 'sent')
    .where('messages.sent_at', 'is not', null)
    .where('messages.sequence_id', 'in', sequenceIds);
  if (since !== undefined) q = q.where('enrollments.enrolled_at', '>=', since);
  const rows = await q.groupBy(['messages.sequence_id', 'messages.step_id', 'messages.variant_id', WEEK_OF]).execute();
  const out: VariantTimeline[] = [];
  for (const { sequenceId, stepId } of steps) {
    const mine = rows.filter((r) => r.sequence_id === sequenceId && r.step_id === stepId);
    if (mine.length === 0) continue;
    const weekNos = [...new Set(mine.map((r) => Number(r.week)))].sort((a, b) => a - b);
    const first = weekNos[0]!;
    const last = weekNos[weekNos.length - 1]!;
    const all = Array.from({ length: last - first + 1 }, (_, i) => first + i);
    const sends: Record<string, number[]> = {};
    for (const r of mine) {
      const label = r.variant_id ?? 'control';
      const series = (sends[label] ??= all.map(() => 0));
      series[Number(r.week) - first] = Number(r.n);
    }
    out.push({ sequenceId, stepId, weeks: all.map((w) => new Date(w * WEEK).toISOString().slice(0, 10)), sends });
  }
  return out;
}
