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
import { checkReason, recordOperatorAction, type Actor } from './operator-log.js';

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
  const rows = await k
    .selectFrom('sequences')
    .select(['id', (eb) => eb.fn.max('guard_since').as('since')])
    .groupBy('id')
    .execute();
  return new Map(rows.filter((r) => r.since !== null).map((r) => [r.id, Number(r.since)]));
}

/**
 * Pauses a sequence with a reason; returns false when it was paused already (the first reason
 * stays). Recorded in the operator trail as done by `by` (the library when not given).
 */
export async function pauseSequence(ctx: EngineContext, id: string, reason: string, by?: Actor): Promise<boolean> {
  if (by) checkReason(reason); // the engine's own reasons (a template error) may be longer
  const now = ctx.clock.now();
  const r = await withOutbox(ctx.k, ctx.config, async (trx) => {
    const done = await trx
      .updateTable('sequences')
      .set({ status: 'paused', paused_reason: reason, paused_at: now })
      .where('id', '=', id)
      .where('status', '!=', 'paused')
      .executeTakeFirst();
    if (Number(done.numUpdatedRows) > 0)
      await emitEvent(trx, ctx.config, { type: 'sequence.paused', sequenceId: id, data: { reason }, occurredAt: now });
    return done;
  });
  const paused = Number(r.numUpdatedRows) > 0;
  const parked = await park(ctx.k, id);
  const entry = { at: now, action: 'sequence.pause', target: id, reason, ...(by ? { by } : {}) };
  // The engine pausing again what it paused (a broken template, per message) leaves one entry, not one per try.
  if (paused) await recordOperatorAction(ctx.k, { ...entry, counts: parked });
  else if (by) await recordOperatorAction(ctx.k, { ...entry, outcome: 'already paused' });
  return paused;
}

/**
 * Resumes a paused sequence: it enrols and sends again, and the deliverability guard counts only
 * messages sent from now on. Returns the reason it was paused for, or null when it was not paused
 * (also when another caller resumed it a moment earlier: the status update is conditional, so a
 * second resume never unparks anything twice). Recorded in the operator trail, with `reason`.
 */
export async function resumeSequence(
  ctx: EngineContext,
  id: string,
  options: { by?: Actor; reason?: string } = {},
): Promise<string | null> {
  checkReason(options.reason);
  const before = await ctx.sequences.status(id);
  const now = ctx.clock.now();
  const entry = {
    at: now,
    action: 'sequence.resume',
    target: id,
    reason: options.reason ?? null,
    ...(options.by ? { by: options.by } : {}),
  };
  const done =
    before.status !== 'paused'
      ? 0
      : Number(
          (
            await ctx.k
              .updateTable('sequences')
              .set({ status: 'active', paused_reason: null, paused_at: null, guard_since: now })
              .where('id', '=', id)
              .where('status', '=', 'paused')
              .executeTakeFirst()
          ).numUpdatedRows,
        );
  if (done === 0) {
    await recordOperatorAction(ctx.k, { ...entry, outcome: 'not paused' });
    return null;
  }
  const counts = await parkedWork(ctx.k, id, now);
  // Back to the planned time, or now when that passed while the sequence was paused.
  const unpark = (column: 'next_due_at' | 'due_at') =>
    sql<number>`case when ${sql.ref(column)} - ${PARK_OFFSET} < ${now} then ${now} else ${sql.ref(column)} - ${PARK_OFFSET} end`;
  await ctx.k
    .updateTable('enrollments')
    .set({ next_due_at: unpark('next_due_at') })
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .where('next_due_at', '>=', PARK_OFFSET)
    .execute();
  // Handed to the job queue before the pause, such a message is queued again when it is due, not
  // only after `worker.redispatchAfterMs`.
  await ctx.k
    .updateTable('messages')
    .set({ due_at: unpark('due_at'), updated_at: now, dispatched_at: null })
    .where('sequence_id', '=', id)
    .where('status', '=', 'reserved')
    .where('due_at', '>=', PARK_OFFSET)
    .execute();
  await recordOperatorAction(ctx.k, { ...entry, counts });
  return before.reason ?? 'paused';
}

/** What a paused sequence holds back, and how much of it is due at once on resume (at `now`). */
export type ParkedWork = {
  /** Enrolments whose next step waits. */
  parkedSteps: number;
  /** Reserved mails that wait. */
  parkedMails: number;
  /** Of both, those whose planned time has passed: they go out at once on resume. */
  dueAtOnce: number;
};

/** Counts the parked work of a sequence (the preview of a resume). */
export async function parkedWork(k: Kysely<Database>, id: string, now: number): Promise<ParkedWork> {
  const steps = await k
    .selectFrom('enrollments')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(sql`case when next_due_at - ${PARK_OFFSET} <= ${now} then 1 else 0 end`).as('due'),
    ])
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .where('next_due_at', '>=', PARK_OFFSET)
    .executeTakeFirstOrThrow();
  const mails = await k
    .selectFrom('messages')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.sum<number>(sql`case when due_at - ${PARK_OFFSET} <= ${now} then 1 else 0 end`).as('due'),
    ])
    .where('sequence_id', '=', id)
    .where('status', '=', 'reserved')
    .where('due_at', '>=', PARK_OFFSET)
    .executeTakeFirstOrThrow();
  return {
    parkedSteps: Number(steps.n),
    parkedMails: Number(mails.n),
    dueAtOnce: Number(steps.due ?? 0) + Number(mails.due ?? 0),
  };
}

/**
 * Parks the due work of a paused sequence (idempotent; also catches work scheduled meanwhile).
 * Returns how many enrolments' next steps and reserved mails it parked now.
 */
export async function park(k: Kysely<Database>, id: string): Promise<{ parkedSteps: number; parkedMails: number }> {
  // Holdout enrolments only wait for their window to close; they are never mailed, so they go on.
  const steps = await k
    .updateTable('enrollments')
    .set({ next_due_at: sql<number>`next_due_at + ${PARK_OFFSET}` })
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .where('holdout', '=', 0)
    .where('next_due_at', '<', PARK_OFFSET)
    .executeTakeFirst();
  const mails = await k
    .updateTable('messages')
    .set({ due_at: sql<number>`due_at + ${PARK_OFFSET}` })
    .where('sequence_id', '=', id)
    .where('status', '=', 'reserved')
    .where('due_at', '<', PARK_OFFSET)
    .executeTakeFirst();
  return { parkedSteps: Number(steps.numUpdatedRows), parkedMails: Number(mails.numUpdatedRows) };
}
