/**
 * Pausing and resuming sequences. The state lives on every stored version of the sequence, so
 * it holds whichever version an enrolment runs on. Paused sequences neither enrol nor send:
 * enrolment checks the status, and pausing parks the sequence's due work (mailed enrolments'
 * next step, reserved messages) by moving its due time `PARK_OFFSET` into the future, where no
 * scheduler or sender query reaches it. Resuming moves it back: work that came due meanwhile is
 * due at once, work planned for later (a follow-up a week out) keeps its time. Send windows and
 * frequency caps still apply.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { emitEvent, withOutbox } from '../webhooks/emit.js';
import type { EngineContext } from './context.js';

/**
 * Parked work is due this much later than planned (about 3,000 years): every due time at or above
 * it is parked, and subtracting it gives the planned time back.
 */
export const PARK_OFFSET = 100_000_000_000_000;

/** Throws NotFoundError (with a "did you mean") unless the sequence is a current file or stored. */
export async function assertKnownSequence(ctx: EngineContext, id: string): Promise<void> {
  if (ctx.sequences.ids().includes(id)) return;
  const stored = await ctx.k.selectFrom('sequences').select('id').where('id', '=', id).executeTakeFirst();
  if (!stored) ctx.sequences.get(id);
}

/** Ids of the sequences that are paused now. */
export async function pausedSequenceIds(k: Kysely<Database>): Promise<string[]> {
  const rows = await k.selectFrom('sequences').select('id').distinct().where('status', '=', 'paused').execute();
  return rows.map((r) => r.id);
}

/** When the guard starts counting for each sequence that was resumed (epoch ms). */
export async function guardSince(k: Kysely<Database>): Promise<Map<string, number>> {
  const rows = await k.selectFrom('sequences').select(['id', (eb) => eb.fn.max('guard_since').as('since')]).groupBy('id').execute();
  return new Map(rows.filter((r) => r.since !== null).map((r) => [r.id, Number(r.since)]));
}

/** Pauses a sequence with a reason; returns false when it was paused already (the first reason stays). */
export async function pauseSequence(ctx: EngineContext, id: string, reason: string): Promise<boolean> {
  const now = ctx.clock.now();
  const r = await withOutbox(ctx.k, ctx.config, async (trx) => {
    const done = await trx.updateTable('sequences').set({ status: 'paused', paused_reason: reason, paused_at: now }).where('id', '=', id).where('status', '!=', 'paused').executeTakeFirst();
    if (Number(done.numUpdatedRows) > 0) await emitEvent(trx, ctx.config, { type: 'sequence.paused', sequenceId: id, data: { reason }, occurredAt: now });
    return done;
  });
  await park(ctx.k, id);
  return Number(r.numUpdatedRows) > 0;
}

/**
 * Resumes a paused sequence: it enrols and sends again, and the deliverability guard counts only
 * messages sent from now on. Returns the reason it was paused for, or null when it was not paused.
 */
export async function resumeSequence(ctx: EngineContext, id: string): Promise<string | null> {
  const before = await ctx.sequences.status(id);
  if (before.status !== 'paused') return null;
  const now = ctx.clock.now();
  await ctx.k.updateTable('sequences').set({ status: 'active', paused_reason: null, paused_at: null, guard_since: now }).where('id', '=', id).execute();
  // Back to the planned time, or now when that passed while the sequence was paused.
  const unpark = (column: 'next_due_at' | 'due_at') => sql<number>`case when ${sql.ref(column)} - ${PARK_OFFSET} < ${now} then ${now} else ${sql.ref(column)} - ${PARK_OFFSET} end`;
  await ctx.k.updateTable('enrollments').set({ next_due_at: unpark('next_due_at') }).where('sequence_id', '=', id).where('status', '=', 'active').where('next_due_at', '>=', PARK_OFFSET).execute();
  // Handed to the job queue before the pause, such a message is queued again when it is due, not
  // only after `worker.redispatchAfterMs`.
  await ctx.k.updateTable('messages').set({ due_at: unpark('due_at'), updated_at: now, dispatched_at: null }).where('sequence_id', '=', id).where('status', '=', 'reserved').where('due_at', '>=', PARK_OFFSET).execute();
  return before.reason ?? 'paused';
}

/** Parks the due work of a paused sequence (idempotent; also catches work scheduled meanwhile). */
export async function park(k: Kysely<Database>, id: string): Promise<void> {
  // Holdout enrolments only wait for their window to close; they are never mailed, so they go on.
  await k
    .updateTable('enrollments')
    .set({ next_due_at: sql<number>`next_due_at + ${PARK_OFFSET}` })
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .where('holdout', '=', 0)
    .where('next_due_at', '<', PARK_OFFSET)
    .execute();
  await k.updateTable('messages').set({ due_at: sql<number>`due_at + ${PARK_OFFSET}` }).where('sequence_id', '=', id).where('status', '=', 'reserved').where('due_at', '<', PARK_OFFSET).execute();
}
