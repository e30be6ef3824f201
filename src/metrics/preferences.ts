/**
 * "Kept instead of lost": preference-centre choices (snoozes, frequency changes, topic opt-outs)
 * counted per sequence and step of the mail whose link was used, beside the unsubscribes of the
 * same steps; and what snoozed customers did once their snooze ended (opened, bought).
 */
import type { Kysely } from 'kysely';
import { PREFERENCE_ACTION, type StoredChoice } from '../consent/preferences.js';
import type { Database } from '../db/schema.js';

/** The choices made from one step's mails (or, with `sequenceId` null, outside any mail: API, library). */
export interface PreferenceStepRow {
  sequenceId: string | null;
  stepId: string | null;
  snoozes: number;
  frequencyChanges: number;
  topicOptOuts: number;
  /** Messages of the step through which the recipient unsubscribed (as in the funnels). */
  unsubscribes: number;
}

/** The preference part of the stats report. */
export interface PreferenceReport {
  /** Per sequence and step, sorted; steps without choices or unsubscribes are left out. */
  steps: PreferenceStepRow[];
  totals: Omit<PreferenceStepRow, 'sequenceId' | 'stepId'>;
  /** Snoozes that ended by now, and of those customers how many opened a mail (human) or bought after the end. */
  snoozeReturns: { ended: number; opened: number; bought: number };
}

/** Builds the preference report; `since` counts only choices and unsubscribes from then on. */
export async function preferenceReport(
  k: Kysely<Database>,
  now: number,
  filter: { sequence?: string; since?: number } = {},
): Promise<PreferenceReport> {
  let q = k
    .selectFrom('consents')
    .select(['customer_id', 'evidence', 'recorded_at'])
    .where('action', '=', PREFERENCE_ACTION);
  if (filter.since !== undefined) q = q.where('recorded_at', '>=', filter.since);
  const choices = (await q.execute()).map((r) => ({
    ...r,
    e: JSON.parse(r.evidence) as StoredChoice & { messageId?: number },
  }));
  const messageIds = [...new Set(choices.flatMap((c) => (typeof c.e.messageId === 'number' ? [c.e.messageId] : [])))];
  const where = new Map<number, { sequence_id: string; step_id: string }>();
  for (let i = 0; i < messageIds.length; i += 500) {
    for (const m of await k
      .selectFrom('messages')
      .select(['id', 'sequence_id', 'step_id'])
      .where('id', 'in', messageIds.slice(i, i + 500))
      .execute())
      where.set(m.id, m);
  }
  const rows = new Map<string, PreferenceStepRow>();
  const row = (sequenceId: string | null, stepId: string | null) => {
    const key = `${sequenceId}\u0000${stepId}`;
    let r = rows.get(key);
    if (!r)
      rows.set(key, (r = { sequenceId, stepId, snoozes: 0, frequencyChanges: 0, topicOptOuts: 0, unsubscribes: 0 }));
    return r;
  };
  const snoozes: { customer: number; until: number }[] = [];
  for (const c of choices) {
    const m = typeof c.e.messageId === 'number' ? where.get(c.e.messageId) : undefined;
    if (filter.sequence !== undefined && m?.sequence_id !== filter.sequence) continue;
    const r = row(m?.sequence_id ?? null, m?.step_id ?? null);
    const choice = c.e.choice as Record<string, unknown>;
    if (typeof choice.snooze === 'number' && choice.snooze > 0) {
      r.snoozes++;
      if (typeof c.e.until === 'number' && c.e.until <= now)
        snoozes.push({ customer: c.customer_id, until: c.e.until });
    } else if (typeof choice.frequency === 'string') r.frequencyChanges++;
    else if (typeof choice.topic === 'string' && choice.subscribed === false) r.topicOptOuts++;
  }
  let u = k
    .selectFrom('events')
    .innerJoin('messages', 'messages.id', 'events.message_id')
    .select(['messages.sequence_id', 'messages.step_id'])
    .select((eb) => eb.fn.count<string>('messages.id').distinct().as('n'))
    .where('events.type', '=', 'unsubscribe')
    .where('events.machine', '=', 0)
    .groupBy(['messages.sequence_id', 'messages.step_id']);
  if (filter.since !== undefined) u = u.where('events.occurred_at', '>=', filter.since);
  if (filter.sequence !== undefined) u = u.where('messages.sequence_id', '=', filter.sequence);
  for (const r of await u.execute()) row(r.sequence_id, r.step_id).unsubscribes += Number(r.n);
  const steps = [...rows.values()]
    .filter((r) => r.snoozes + r.frequencyChanges + r.topicOptOuts + r.unsubscribes > 0)
    .sort(
      (a, b) =>
        (a.sequenceId ?? '\uffff').localeCompare(b.sequenceId ?? '\uffff') ||
        (a.stepId ?? '').localeCompare(b.stepId ?? ''),
    );
  const totals = { snoozes: 0, frequencyChanges: 0, topicOptOuts: 0, unsubscribes: 0 };
  for (const r of steps) for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += r[key];
  return { steps, totals, snoozeReturns: await snoozeReturns(k, snoozes) };
}

/** Of the ended snoozes, the customers who opened (human) a mail sent after the end, or ordered after it. */
async function snoozeReturns(
  k: Kysely<Database>,
  ended: { customer: number; until: number }[],
): Promise<PreferenceReport['snoozeReturns']> {
  const out = { ended: ended.length, opened: 0, bought: 0 };
  for (const s of ended) {
    const open = await k
      .selectFrom('events')
      .innerJoin('messages', 'messages.id', 'events.message_id')
      .select('events.id')
      .where('messages.customer_id', '=', s.customer)
      .where('events.type', '=', 'open')
      .where('events.machine', '=', 0)
      .where('events.occurred_at', '>=', s.until)
      .limit(1)
      .executeTakeFirst();
    if (open) out.opened++;
    const order = await k
      .selectFrom('orders')
      .select('id')
      .where('customer_id', '=', s.customer)
      .where('ordered_at', '>=', s.until)
      .limit(1)
      .executeTakeFirst();
    if (order) out.bought++;
  }
  return out;
}
