import { sql } from 'kysely';
import type { EngineContext } from './context.js';

/** Headline numbers of one sequence. Opens and clicks count distinct messages with a human event. */
export interface SequenceStats {
  sequenceId: string;
  status: string;
  pausedReason: string | null;
  enrolled: number;
  holdout: number;
  active: number;
  sent: number;
  reserved: number;
  failed: number;
  cancelled: number;
  uncertain: number;
  opened: number;
  machineOpened: number;
  clicked: number;
  unsubscribed: number;
  complained: number;
  bounced: number;
  /** Conversions of mailed (non-holdout) enrolments. */
  converted: number;
  holdoutConverted: number;
  revenueMinor: number;
  discountMinor: number;
  currency: string;
}

const n = (v: unknown) => Number(v ?? 0);

/** Stats for one sequence or all known ones (current files plus any with enrolments). */
export async function sequenceStats(ctx: EngineContext, sequenceId?: string): Promise<SequenceStats[]> {
  const k = ctx.k;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type -- any kysely query builder's `where`
  const filter = <T extends { where: Function }>(q: T, col: string): T =>
    sequenceId ? (q.where(col, '=', sequenceId) as T) : q;
  const enr = await filter(
    k
      .selectFrom('enrollments')
      .select([
        'sequence_id',
        sql<number>`count(*)`.as('enrolled'),
        sql<number>`sum(holdout)`.as('holdout'),
        sql<number>`sum(case when status = 'active' then 1 else 0 end)`.as('active'),
      ]),
    'sequence_id',
  )
    .groupBy('sequence_id')
    .execute();
  const msg = await filter(
    k.selectFrom('messages').select(['sequence_id', 'status', sql<number>`count(*)`.as('n')]),
    'sequence_id',
  )
    .groupBy(['sequence_id', 'status'])
    .execute();
  const ev = await filter(
    k
      .selectFrom('events')
      .innerJoin('messages', 'messages.id', 'events.message_id')
      .select([
        'messages.sequence_id',
        'events.type',
        'events.machine',
        sql<number>`count(distinct events.message_id)`.as('n'),
      ]),
    'messages.sequence_id',
  )
    .groupBy(['messages.sequence_id', 'events.type', 'events.machine'])
    .execute();
  const conv = await filter(
    k
      .selectFrom('conversions')
      .select([
        'sequence_id',
        'holdout',
        'currency',
        sql<number>`count(*)`.as('n'),
        sql<number>`sum(revenue_minor)`.as('revenue'),
        sql<number>`sum(discount_minor)`.as('discount'),
      ]),
    'sequence_id',
  )
    .groupBy(['sequence_id', 'holdout', 'currency'])
    .execute();
  const ids = new Set<string>(sequenceId ? [sequenceId] : [...ctx.sequences.ids(), ...enr.map((e) => e.sequence_id)]);
  const out: SequenceStats[] = [];
  for (const id of [...ids].sort()) {
    const e = enr.find((r) => r.sequence_id === id);
    const m = (status: string) => n(msg.find((r) => r.sequence_id === id && r.status === status)?.n);
    const v = (type: string, machine = 0) =>
      n(ev.find((r) => r.sequence_id === id && r.type === type && n(r.machine) === machine)?.n);
    const c = conv.filter((r) => r.sequence_id === id);
    const mailed = c.filter((r) => n(r.holdout) === 0);
    const st = await ctx.sequences.status(id);
    out.push({
      sequenceId: id,
      status: st.status,
      pausedReason: st.reason,
      enrolled: n(e?.enrolled),
      holdout: n(e?.holdout),
      active: n(e?.active),
      sent: m('sent'),
      reserved: m('reserved') + m('claimed') + m('sending'),
      failed: m('failed'),
      cancelled: m('cancelled'),
      uncertain: m('uncertain'),
      opened: v('open'),
      machineOpened: v('open', 1),
      clicked: v('click'),
      unsubscribed: v('unsubscribe'),
      complained: v('complaint'),
      bounced: v('bounce'),
      converted: mailed.reduce((s, r) => s + n(r.n), 0),
      holdoutConverted: c.filter((r) => n(r.holdout) === 1).reduce((s, r) => s + n(r.n), 0),
      revenueMinor: mailed.reduce((s, r) => s + n(r.revenue), 0),
      discountMinor: mailed.reduce((s, r) => s + n(r.discount), 0),
      currency: mailed[0]?.currency ?? ctx.config.defaults.currency,
    });
  }
  return out;
}
