/**
 * What each dashboard action would do, read before the operator confirms it: how much of a
 * sequence's work is planned (a pause parks it) or parked (a resume plans it again, part of it at
 * once). Read-only; the actions themselves are the engine's.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { parkedWork, PARK_OFFSET, type ParkedWork } from '../engine/sequence-state.js';

/** A sequence's state and work, as the operator panel and the confirm pages show it. */
export interface SequenceWork extends ParkedWork {
  id: string;
  status: string;
  reason: string | null;
  pausedAt: number | null;
  /** Enrolments' next steps and reserved mails that are planned (a pause would park them). */
  plannedSteps: number;
  plannedMails: number;
}

/** The work of one sequence at `now`. */
export async function sequenceWork(k: Kysely<Database>, id: string, now: number): Promise<SequenceWork> {
  const row = await k
    .selectFrom('sequences')
    .select(['status', 'paused_reason', 'paused_at'])
    .where('id', '=', id)
    .orderBy('version', 'desc')
    .executeTakeFirst();
  const steps = await k
    .selectFrom('enrollments')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('sequence_id', '=', id)
    .where('status', '=', 'active')
    .where('holdout', '=', 0)
    .where('next_due_at', 'is not', null)
    .where('next_due_at', '<', PARK_OFFSET)
    .executeTakeFirstOrThrow();
  const mails = await k
    .selectFrom('messages')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('sequence_id', '=', id)
    .where('status', '=', 'reserved')
    .where('due_at', '<', PARK_OFFSET)
    .executeTakeFirstOrThrow();
  return {
    id,
    status: row?.status ?? 'active',
    reason: row?.paused_reason ?? null,
    pausedAt: row?.paused_at == null ? null : Number(row.paused_at),
    plannedSteps: Number(steps.n),
    plannedMails: Number(mails.n),
    ...(await parkedWork(k, id, now)),
  };
}
