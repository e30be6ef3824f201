/**
 * Rolling delivery health per sequence and sender, judged by the guard (`stats/guard.ts`).
 * "Sent" counts messages handed to the provider in the window: accepted, or refused at once
 * with a hard bounce. Complaints and bounces are counted per message, whenever they arrived.
 */
import { sql, type Kysely } from 'kysely';
import { DAY } from '../clock.js';
import type { GuardConfig } from '../config/schema.js';
import type { Database } from '../db/schema.js';
import { num } from './queries.js';
import { deliverabilityVerdict, type GuardThresholds } from './stats/index.js';
import type { DeliverabilityHealth, DeliverabilityReport } from './types.js';

/** Delivery counts of one (sequence, sender) in the window. */
export interface DeliveryRow {
  sequenceId: string;
  sender: string;
  sent: number;
  complaints: number;
  hardBounces: number;
}

/**
 * Counts of messages sent since `windowStart`, per sequence and transport. A resumed sequence
 * counts only from its resume (`guard_since`), so the complaints that paused it do not again.
 */
export async function deliveryRows(
  k: Kysely<Database>,
  windowStart: number,
  sequence?: string,
): Promise<DeliveryRow[]> {
  const filter = sequence === undefined ? sql`1 = 1` : sql`m.sequence_id = ${sequence}`;
  const r = await sql<{ sequence_id: string; sender: string; sent: unknown; complaints: unknown; bounces: unknown }>`
    select m.sequence_id, coalesce(m.transport, 'unknown') as sender, count(*) as sent,
      sum(coalesce(fl.complaint, 0)) as complaints, sum(coalesce(fl.bounce, 0)) as bounces
    from messages m
    left join (
      select message_id, max(case when type = 'complaint' then 1 else 0 end) as complaint, max(case when type = 'bounce' then 1 else 0 end) as bounce
      from events where type in ('complaint', 'bounce') and message_id is not null group by message_id
    ) fl on fl.message_id = m.id
    left join (select id, max(guard_since) as guard_since from sequences group by id) g on g.id = m.sequence_id
    where (m.status = 'sent' or (m.status = 'failed' and fl.bounce = 1)) and ${filter}
      and coalesce(m.sent_at, m.updated_at) >= ${windowStart}
      and coalesce(m.sent_at, m.updated_at) >= coalesce(g.guard_since, 0)
    group by m.sequence_id, m.transport`.execute(k);
  return r.rows.map((row) => ({
    sequenceId: row.sequence_id,
    sender: row.sender,
    sent: num(row.sent),
    complaints: num(row.complaints),
    hardBounces: num(row.bounces),
  }));
}

/** Judges summed counts with the guard. */
export function health(
  counts: { sent: number; complaints: number; hardBounces: number },
  thresholds?: Partial<GuardThresholds>,
): DeliverabilityHealth {
  const v = deliverabilityVerdict(counts, thresholds);
  return {
    ...counts,
    complaintRate: v.rates.complaint,
    hardBounceRate: v.rates.hardBounce,
    complaintEvidence: v.evidence.complaint,
    hardBounceEvidence: v.evidence.hardBounce,
    level: v.level,
    reasons: v.reasons,
  };
}

/**
 * The deliverability section of one sequence from the window's rows (`windowStart` is for
 * display), judged with the configured thresholds (the `guard` section carries their fields).
 */
export function deliverabilityReport(
  sequenceId: string,
  rows: readonly DeliveryRow[],
  windowStart: number,
  guard: GuardConfig,
): DeliverabilityReport {
  const thresholds: GuardThresholds = guard;
  const own = rows.filter((r) => r.sequenceId === sequenceId);
  const total = own.reduce(
    (s, r) => ({
      sent: s.sent + r.sent,
      complaints: s.complaints + r.complaints,
      hardBounces: s.hardBounces + r.hardBounces,
    }),
    { sent: 0, complaints: 0, hardBounces: 0 },
  );
  const bySender = own
    .map((r) => ({ sender: r.sender, ...health(r, thresholds) }))
    .sort((a, b) => a.sender.localeCompare(b.sender));
  const overall = health(total, thresholds);
  // A sender over a threshold is reason enough even when the sequence's total looks fine.
  const worst =
    bySender.find((s) => s.level === 'pause') ??
    (overall.level === 'ok' ? bySender.find((s) => s.level === 'warn') : undefined);
  const merged =
    worst && rank(worst.level) > rank(overall.level)
      ? {
          ...overall,
          level: worst.level,
          reasons: [...overall.reasons, `sender ${worst.sender}: ${worst.reasons.join('; ')}`],
        }
      : overall;
  return { ...merged, windowDays: guard.windowDays, windowStart: new Date(windowStart).toISOString(), bySender };
}

function rank(level: DeliverabilityHealth['level']): number {
  return level === 'pause' ? 2 : level === 'warn' ? 1 : 0;
}

/** Start of the rolling window of `guard.windowDays` days ending at `now`. */
export function windowStart(now: number, guard: GuardConfig): number {
  return now - guard.windowDays * DAY;
}
